"""Heap bytes an import costs on MicroPython. Run by tools/bench.py on the unix port:

    micropython heap_cost_mp.py MODULE [MODULE ...]

Imports asyncio first (frozen into every firmware, so not ours to count), then the
given modules together, and prints the drop in free heap after a collection.
"""
import gc
import sys

import asyncio  # noqa: F401

gc.collect()
before = gc.mem_free()
for name in sys.argv[1:]:
    __import__(name)
gc.collect()
print(before - gc.mem_free())
