"""Clocks: ``RealClock`` (what ``graph.start()`` uses) and ``VirtualClock`` for host tests.

A clock gives ``now()`` in milliseconds, ``add(t, ms)`` and ``diff(a, b)`` in its own
arithmetic, and ``sleep_until(deadline)``, an awaitable that any task may await.
Periodic sources sleep to absolute deadlines, so they never drift. ``VirtualClock``
jumps straight to the next deadline: hours of pipeline time run in milliseconds, with
no real sleeps. ``VirtualClock`` lives in rill.virtual_clock and is loaded only when
asked for (``from rill.clock import VirtualClock``), so a board never pays for it.
"""
import asyncio
import time


class RealClock:
    """``time.ticks_ms`` time. ``sleep_until`` allocates nothing on MicroPython, where
    ``asyncio.sleep_ms`` returns a reusable generator."""

    now = staticmethod(time.ticks_ms)
    add = staticmethod(time.ticks_add)
    diff = staticmethod(time.ticks_diff)

    @staticmethod
    def sleep_until(t):
        ms = time.ticks_diff(t, time.ticks_ms())
        return asyncio.sleep_ms(ms if ms > 0 else 0)


def __getattr__(name):
    if name == "VirtualClock":
        from .virtual_clock import VirtualClock

        return VirtualClock
    raise AttributeError(name)
