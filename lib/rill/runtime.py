"""The built graph: synchronous depth-ordered dispatch, and the tasks that drive it.

A write to a record runs, in one dispatch cycle, every transform downstream of it in
depth order; each runs at most once per cycle (a diamond joins once) and only if one
of its trigger inputs was written in that cycle. Taps run in their own tasks and read
the record's buffer, so a slow observer never blocks a producer. Dispatch allocates
nothing: transforms are called with positional arguments, counters stay small ints.
"""
import asyncio
from time import ticks_add, ticks_diff, ticks_ms

import micropython
from micropython import const

from .signal import Signal

_WRAP = const(0x3FFFFFFF)
_MAX_SHIFT = const(16)


class Clock:
    """Wall time from ``time.ticks_ms``; see rill.clock.VirtualClock for tests."""

    now = staticmethod(ticks_ms)
    add = staticmethod(ticks_add)
    diff = staticmethod(ticks_diff)

    def sleep_until(self, deadline, signal=None):
        # asyncio.sleep_ms returns a reusable generator on MicroPython: no allocation.
        ms = ticks_diff(deadline, ticks_ms())
        return asyncio.sleep_ms(ms if ms > 0 else 0)


def _reason(e):
    return "%s: %s" % (type(e).__name__, e)


class Graph:
    def __init__(self, pipeline):
        from .buffers import DeadLetters

        self.name = pipeline.name
        self.records = records = pipeline._records
        self.keys = pipeline._keys
        self.nodes = nodes = pipeline._nodes
        self.dead_letters = DeadLetters(pipeline.dead_letters)
        self.clock = None
        self._cycle = 0
        self._tasks = []
        self._stopped = None
        self.sources = [n for n in nodes if n.kind == "source"]
        self.taps = [n for n in nodes if n.kind == "tap"]
        for n in nodes:
            n.out_rec = records[n.out] if n.out is not None else None
            n.graph = self
        for tap in self.taps:
            rec = records[tap.inputs[0]]
            tap.reader = rec.reader()
            tap.signal = Signal()
            tap.failed = self._failed(tap)
            rec.signals = rec.signals + (tap.signal,)

    # -- dispatch ------------------------------------------------------------------

    def push(self, key, value):
        """Write ``value`` to record ``key`` from outside and dispatch its transforms."""
        rec = self.records[key]
        w = rec.writer
        if w.kind != "source":
            raise ValueError("record %r is written by transform %s; push only to source records" % (key, w.name))
        w.runs = (w.runs + 1) & _WRAP
        self.emit(rec, value)

    @micropython.native
    def emit(self, rec, value):
        """Write ``value`` to record ``rec`` (a buffer from ``records``) and dispatch."""
        c = (self._cycle + 1) & _WRAP
        self._cycle = c
        if rec.inline:
            rec.produced = (rec.produced + 1) & _WRAP
        elif not rec.put(value):
            return  # a full DROP queue refused it (counted there); nothing downstream sees it
        rec.value = value
        rec.stamp = c
        for s in rec.signals:
            if not s.pending:
                s.set()
        for node, fn, n, first, rest, a, o in rec.plan:
            if first.stamp != c:  # fire only if a trigger input was written this cycle
                for t in rest:
                    if t.stamp == c:
                        break
                else:
                    continue
            try:
                if n == 1:
                    out = fn(first.value)
                elif n == 2:
                    out = fn(first.value, a[1].value)
                elif n == 3:
                    out = fn(first.value, a[1].value, a[2].value)
                else:
                    out = fn(*[r.value for r in a])
                if out is None:
                    node.filtered = (node.filtered + 1) & _WRAP
                    continue
                if o.inline:
                    o.produced = (o.produced + 1) & _WRAP
                elif not o.put(out):
                    continue
                o.value = out
                o.stamp = c
                for s in o.signals:
                    if not s.pending:
                        s.set()
            except Exception as e:
                self.fail(node, first.value, e)

    def _failed(self, node):
        return lambda value, error: self.fail(node, value, error)

    def fail(self, node, value, error):
        """Count an error on ``node`` and set the record aside with the reason."""
        node.errors += 1
        node.last_error = _reason(error) if isinstance(error, Exception) else error
        self.dead_letters.add(node.name, value, node.last_error)

    # -- tasks ---------------------------------------------------------------------

    def start(self, clock=None):
        """Create the source and tap tasks on the running loop."""
        self.clock = clock or Clock()
        create = asyncio.create_task
        for tap in self.taps:
            self._tasks.append(create(self._tap(tap)))
        for src in self.sources:
            if src.fn is None:
                continue
            src.signal = Signal()
            self._tasks.append(create(self._periodic(src) if not src.is_task else self._supervised(src)))

    def stop(self):
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        if self._stopped is not None:
            self._stopped.set()

    async def run(self, clock=None):
        """Run until ``stop()``."""
        self._stopped = Signal()
        self.start(clock)
        await self._stopped

    async def _tap(self, tap):
        drain = tap.reader.drain
        fn = tap.fn
        failed = tap.failed
        signal = tap.signal
        while True:
            await signal
            tap.runs = (tap.runs + drain(fn, failed)) & _WRAP

    def _backoff(self, src, failures):
        lo, hi = src.backoff_ms
        ms = lo << min(failures - 1, _MAX_SHIFT)
        return ms if ms < hi else hi

    async def _periodic(self, src):
        clock = self.clock
        period = src.every_ms
        rec = src.out_rec
        read = src.fn
        deadline = clock.now()
        failures = 0
        while True:
            deadline = clock.add(deadline, period)
            late = clock.diff(clock.now(), deadline)
            if late >= period:  # the loop was held up: skip the missed slots, keep the grid
                skip = late // period
                src.overruns += skip
                deadline = clock.add(deadline, skip * period)
            await clock.sleep_until(deadline, src.signal)
            try:
                value = read()
            except Exception as e:
                failures += 1
                self._source_failed(src, e)
                wait = self._backoff(src, failures)
                if wait > period:
                    deadline = clock.add(deadline, (wait // period) * period - period)
                continue
            if failures:
                src.restarts += 1
                failures = 0
            if value is not None:
                if rec.kind == "queue" and rec.full():
                    await rec.room()
                self.emit(rec, value)
                src.runs = (src.runs + 1) & _WRAP

    async def _supervised(self, src):
        clock = self.clock
        failures = 0
        while True:
            try:
                await src.fn(src)
                return
            except Exception as e:
                failures += 1
                self._source_failed(src, e)
            await clock.sleep_until(clock.add(clock.now(), self._backoff(src, failures)), src.signal)
            src.restarts += 1

    def _source_failed(self, src, error):
        src.failures += 1
        src.last_error = _reason(error)
        if src.missing is not None:
            self.emit(src.out_rec, src.missing)

    # -- inspection ----------------------------------------------------------------

    def stats(self):
        """Counters for every record, node and tap reader, and the dead letters."""
        from .describe import stats

        return stats(self)

    def describe(self, mermaid=False):
        """The graph as text, or as a Mermaid flowchart for docs."""
        from . import describe

        return describe.mermaid(self) if mermaid else describe.text(self)
