"""The host-built fast path, made in a test: rill.codegen writes the module for a
built graph into a folder on sys.path, and it is imported as a deployed app's would be
(on MicroPython compiled from source here; a deployed app gets it as .mpy from
mpy-cross, host_tests/tools/test_dispatchgen.py). The library itself never compiles."""
import os
import sys
import time

from rill import codegen

try:
    _tick = time.ticks_us
except AttributeError:
    _tick = time.perf_counter_ns

FOLDER = "/tmp/rill-fast-%d" % (_tick() & 0xFFFFFF)


def write_module(graph, native=True, name=None):
    """Write ``graph``'s module into FOLDER as ``name`` (default its own); the path."""
    try:
        os.mkdir(FOLDER)
    except OSError:
        pass
    if FOLDER not in sys.path:
        sys.path.append(FOLDER)
    path = "%s/%s.py" % (FOLDER, name or "rill_dispatch_" + graph.name)
    with open(path, "w") as f:
        codegen.module(graph, f, native)
    return path


def fast_module(graph, native=True):
    """The fast path of ``graph``'s shape, as the host would build it, imported."""
    name = "fast_%d" % (_tick() & 0xFFFFFF)
    path = write_module(graph, native, name)
    with open(path) as f:
        text = f.read()
    mod = __import__(name)
    sys.modules.pop(name, None)
    os.remove(path)
    mod.text = text
    return mod
