"""Heap bytes an import costs on MicroPython. Run by tools/rill_host/bench/cli.py on the unix port:

    micropython heap_cost_mp.py [--after MOD,MOD] [--grow-names] MODULE [MODULE ...]

Imports asyncio first (frozen into every firmware, so not ours to count) and the
``--after`` modules (already paid for, such as the core), then the given modules
together, and prints the drop in free heap after a collection.

``--grow-names``: before measuring, intern throwaway names until MicroPython allocates a new
interned-name pool (pools double: the new one has room for hundreds of names), so the
figure is the modules' own code, data and names, not a pool table that whichever
module crosses the boundary pays for (some 2 KB on 32 bits, then 4 KB, ...).
"""
import asyncio  # noqa: F401
import gc
import sys

args = sys.argv[1:]
if args and args[0] == "--after":
    for name in args[1].split(","):
        __import__(name)
    args = args[2:]
if args and args[0] == "--grow-names":  # longer than 10: not interned; the code below neither, until run
    args = args[1:]
    exec("""
class _Names:
    pass
_holder = _Names()
gc.collect()
_last = gc.mem_alloc()
for _i in range(5000):  # a pool of 300+ entries appears well before this
    setattr(_holder, "_room_%d" % _i, None)  # an attribute name is interned
    delattr(_holder, "_room_%d" % _i)
    gc.collect()
    if gc.mem_alloc() - _last >= 1024:  # a new pool's table (a name's text is a few bytes)
        break
    _last = gc.mem_alloc()
""")
gc.collect()
before = gc.mem_free()
for name in args:
    __import__(name)
gc.collect()
print(before - gc.mem_free())
