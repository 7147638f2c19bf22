"""Heap bytes an import costs on MicroPython. Run by tools/bench.py on the unix port:

    micropython heap_cost_mp.py [--after MOD,MOD] MODULE [MODULE ...]

Imports asyncio first (frozen into every firmware, so not ours to count) and the
``--after`` modules (already paid for, such as the core), then the given modules
together, and prints the drop in free heap after a collection.
"""
import asyncio  # noqa: F401
import gc
import sys

args = sys.argv[1:]
if args and args[0] == "--after":
    for name in args[1].split(","):
        __import__(name)
    args = args[2:]
gc.collect()
before = gc.mem_free()
for name in args:
    __import__(name)
gc.collect()
print(before - gc.mem_free())
