"""Clocks: ``RealClock()`` (what ``graph.start()`` uses: the module rill.graph, so a
board loads nothing more for it) and ``VirtualClock`` for host tests.

A clock gives ``now()`` in milliseconds, ``add(t, ms)`` and ``diff(a, b)`` in its own
arithmetic, and ``sleep_until(deadline)``, an awaitable that any task may await.
Periodic sources sleep to absolute deadlines, so they never drift. ``VirtualClock``
jumps straight to the next deadline: hours of pipeline time run in milliseconds, with
no real sleeps. Nothing in the core imports this module, so a board never pays for
``VirtualClock``.
"""
import asyncio

from . import graph as _real
from .buffers import Signal


def RealClock():  # noqa: N802  (named as the clock it gives, beside VirtualClock)
    """The real clock, ``time.ticks_ms`` time: the module rill.graph, whose ``now``,
    ``add``, ``diff`` and ``sleep_until`` are what ``graph.start()`` runs on."""
    return _real


class VirtualClock:
    """Time that moves only when a test calls ``await clock.advance(ms)``. Each sleep
    makes a Signal (host tests only: it allocates)."""

    def __init__(self, start=0, settle=4):
        self._now = start
        self._settle = settle
        self._waiters = []  # [deadline, signal], in registration order

    def now(self):
        return self._now

    @staticmethod
    def add(t, ms):
        return t + ms

    @staticmethod
    def diff(a, b):
        return a - b

    def sleep_until(self, deadline):
        signal = Signal()
        self._waiters.append([deadline, signal])
        return signal

    async def _run_ready(self):
        for _ in range(self._settle):
            await asyncio.sleep_ms(0)

    async def advance(self, ms):
        """Move time forward by ``ms``, waking every sleeper in deadline order."""
        end = self._now + ms
        while True:
            await self._run_ready()
            due = None
            for w in self._waiters:
                if w[0] <= end and (due is None or w[0] < due[0]):
                    due = w
            if due is None:
                break
            if due[0] > self._now:
                self._now = due[0]
            self._waiters.remove(due)
            due[1].set()
        self._now = end
        await self._run_ready()
