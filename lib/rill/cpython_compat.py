"""The one place CPython learns to look like MicroPython.

Imported by ``rill/__init__.py`` only when not running on MicroPython. It installs
what the library and umqtt.simple use from MicroPython: the ``micropython`` module,
``time.ticks_*``/``sleep_ms``, ``asyncio.sleep_ms`` and ``asyncio.ThreadSafeFlag``.
Nothing here runs on a board.
"""
import asyncio
import sys
import time
import types

_TICKS_PERIOD = 1 << 30
_TICKS_HALF = _TICKS_PERIOD // 2


def _ticks(scale):
    return lambda: int(time.monotonic_ns() // scale) & (_TICKS_PERIOD - 1)


def ticks_diff(a, b):
    return ((a - b + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


def ticks_add(t, delta):
    return (t + delta) & (_TICKS_PERIOD - 1)


def _install_time():
    time.ticks_ms = _ticks(1000000)
    time.ticks_us = _ticks(1000)
    time.ticks_diff = ticks_diff
    time.ticks_add = ticks_add
    time.sleep_ms = lambda ms: time.sleep(ms / 1000)
    time.sleep_us = lambda us: time.sleep(us / 1000000)


def _install_micropython():
    mp = types.ModuleType("micropython")
    mp.const = lambda x: x
    mp.native = mp.viper = lambda f: f
    mp.heap_lock = mp.heap_unlock = lambda: 0
    mp.alloc_emergency_exception_buf = lambda n: None
    mp.schedule = lambda fn, arg: fn(arg)
    mp.mem_info = lambda *a: None
    sys.modules["micropython"] = mp


class ThreadSafeFlag:
    """asyncio.ThreadSafeFlag for CPython: set() may be called from any thread."""

    def __init__(self):
        self._event = asyncio.Event()
        self._loop = None

    def set(self):
        loop = self._loop
        if loop is None or not loop.is_running():
            self._event.set()
        else:
            loop.call_soon_threadsafe(self._event.set)

    def clear(self):
        self._event.clear()

    async def wait(self):
        self._loop = asyncio.get_running_loop()
        await self._event.wait()
        self._event.clear()


def _install_asyncio():
    asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    asyncio.ThreadSafeFlag = ThreadSafeFlag


if "micropython" not in sys.modules:
    _install_time()
    _install_micropython()
    _install_asyncio()


class Signal:
    """rill.signal.Signal for CPython, on an asyncio.Event."""

    def __init__(self):
        self._event = asyncio.Event()

    def set(self):
        self._event.set()

    def __await__(self):
        yield from self._event.wait().__await__()
        self._event.clear()
