"""The host-built fast path, made in a test: rill.codegen writes the module for a built
graph and it is imported as a deployed app's would be (compiled from source here; a
deployed app gets it as .mpy from mpy-cross: host_tests/tools/test_dispatchgen.py). The
library itself never compiles. Where there is no writable filesystem (the emulated MCU)
the same text is compiled from memory."""
import gc
import io
import os
import sys
import time

from rill import codegen

try:
    _tick = time.ticks_us
except AttributeError:
    _tick = time.perf_counter_ns

FOLDER = "/tmp/rill-fast-%d" % (_tick() & 0xFFFFFF)


def _native():
    """Whether this port compiles @micropython.native (a Cortex-M0 port does not)."""
    import micropython  # (after rill, which gives CPython one)

    try:
        exec("@micropython.native\ndef f():\n pass\n", {"micropython": micropython})
        return True
    except Exception:  # SyntaxError: no native emitter
        return False


NATIVE = _native()


class Module:
    """A module compiled from memory: its names as attributes."""


def _from_file(graph, native, name, keep):
    try:
        os.mkdir(FOLDER)
    except OSError:
        pass  # there already
    if FOLDER not in sys.path:
        sys.path.append(FOLDER)
    path = "%s/%s.py" % (FOLDER, name)
    with open(path, "w") as f:
        codegen.module(graph, f, native)
    text = None
    if keep:
        with open(path) as f:
            text = f.read()
    mod = __import__(name)
    sys.modules.pop(name, None)
    os.remove(path)
    return mod, text


def _text(graph, native):
    out = io.StringIO()
    codegen.module(graph, out, native)
    return out.getvalue()


def _from_memory(graph, native, name, keep=True):
    text = _text(graph, native)
    scope = {"__name__": name}
    exec(text, scope)
    mod = Module()
    for k, v in scope.items():
        setattr(mod, k, v)
    return mod, text


def fast_module(graph, native=True, text=False):
    """The fast path of ``graph``'s shape, as the host would build it, compiled. With
    ``text``, its ``text`` is what the host writes (a module's text is tens of KB: held
    only when asked for); on a port without a native emitter the compiled one is that
    text without the decorators, as a build for that port stages it."""
    keep = text
    name = "fast_%d" % (_tick() & 0xFFFFFF)
    gc.collect()  # the text and the compiler's working memory, on a small heap
    try:
        mod, text = _from_file(graph, native and NATIVE, name, keep)
    except (OSError, AttributeError):  # no writable filesystem (no os.mkdir, or it fails)
        mod, text = _from_memory(graph, native and NATIVE, name)
        text = text if keep else None
    if keep and native and not NATIVE:
        text = _text(graph, True)  # what the host writes for a port with a native emitter
    mod.text = text
    return mod
