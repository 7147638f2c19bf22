"""Assertion helpers for tests that run on CPython (pytest) and on the MicroPython unix port.

Tests that the rill pytest plugin runs on both runtimes are written in the subset both
share: plain ``assert``, ``raises`` instead of ``pytest.raises``, and ``run`` for
coroutines. ``replay_on`` is the ``replay`` fixture. ``cpython_only`` opts one test out of the MicroPython run.
``scratch`` is a folder for files (the emulated MCU has none).
"""
import sys

MICROPYTHON = sys.implementation.name == "micropython"


def scratch(name):
    """/tmp/rill-<name>-<runtime>-<this process's tick>, made if missing: runs side by side
    (the runtimes, xdist workers, two checkouts' make test) never share a test's files."""
    import os
    import time

    global _RUN
    if _RUN is None:
        _RUN = "%s%d-%d" % (sys.implementation.name[:2], len(str(sys.maxsize)),
                            time.ticks_us() if MICROPYTHON else time.time_ns() // 1000 % 1000000007)
    folder = "/tmp/rill-%s-%s" % (name, _RUN)
    try:
        os.mkdir(folder)
    except OSError:
        pass
    return folder


_RUN = None


class raises:
    """Context manager: the block must raise ``exc`` (optionally with ``match`` in its message)."""

    def __init__(self, exc, match=None):
        self.exc = exc
        self.match = match
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        if etype is None:
            raise AssertionError("did not raise " + self.exc.__name__)
        if not issubclass(etype, self.exc):
            return False
        if self.match is not None and self.match not in str(value):
            raise AssertionError("%r does not contain %r" % (str(value), self.match))
        self.value = value
        return True


def cpython_only(fn):
    """Decorator: run this test on CPython only (the plugin reads the attribute it sets)."""
    if not MICROPYTHON:
        fn.rill_runtimes = ("cpython",)
    return fn


def run(coro):
    """Run a coroutine to completion on this runtime's asyncio."""
    import asyncio

    return asyncio.run(coro)


def heap_locked(fn):
    """Call ``fn()`` with the heap locked on MicroPython, where any allocation raises MemoryError.

    On CPython there is no heap lock; ``fn`` simply runs. (No ``*args``: a star call allocates.)
    """
    if not MICROPYTHON:
        return fn()
    import micropython

    micropython.heap_lock()
    try:
        return fn()
    finally:
        micropython.heap_unlock()


def replay_on(clock):
    """The ``replay`` fixture on ``clock``: ``replay(capture, pipeline, bridges=())`` is
    the pipeline's transcript of the capture at path ``capture`` (rill.io.replay.transcript:
    what its transforms wrote and, with ``bridges``, what they published). The capture
    is checked (rill.io.checked): a damaged line raises Damaged, naming it."""

    def replay(capture, pipeline, bridges=()):
        from rill.io.checked import checked
        from rill.io.replay import transcript

        return transcript(pipeline, checked(str(capture)), clock, bridges=bridges)

    return replay


async def until(cond, ms=5000, every=10):
    """Wait (polling every ``every`` ms) until ``cond()`` is true; False after ``ms``."""
    import asyncio

    while not cond():
        if ms <= 0:
            return False
        await asyncio.sleep_ms(every)
        ms -= every
    return True
