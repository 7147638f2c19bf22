"""The built graph: synchronous depth-ordered dispatch, and the tasks that drive it.

A write to a record runs, in one dispatch cycle, every transform downstream of it in
depth order; each runs at most once per cycle (a diamond joins once) and only if one
of its trigger inputs was written in that cycle. Taps run in their own tasks and read
the record's buffer, so a slow observer never blocks a producer. Dispatch allocates
nothing: transforms are called with positional arguments, counters stay small ints.
"""
import asyncio
import sys
from time import ticks_add, ticks_diff, ticks_ms

import micropython
from micropython import const

from .buffers import BLOCK

_WRAP = const(0x3FFFFFFF)
_MAX_SHIFT = const(16)

from .wake import Signal

# The real clock is this module itself: now/add/diff/sleep_until, the interface that
# rill.clock.VirtualClock also has, so ``graph.start(clock)`` takes either.
now = ticks_ms
add = ticks_add
diff = ticks_diff


def sleep_until(deadline, signal=None):
    # asyncio.sleep_ms returns a reusable generator on MicroPython: no allocation.
    ms = ticks_diff(deadline, ticks_ms())
    return asyncio.sleep_ms(ms if ms > 0 else 0)


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
        self.sources = []
        self.taps = []
        for n in nodes:
            n.out_rec = records.get(n.out)
            n.graph = self
            if n.kind == "source":
                self.sources.append(n)
            elif n.kind == "tap":
                self.taps.append(n)
                rec = records[n.inputs[0]]
                n.reader = rec.reader()
                n.signal = Signal()
                rec.signals = rec.signals + (n.signal,)

    # -- dispatch ------------------------------------------------------------------

    def push(self, key, value):
        """Write ``value`` to record ``key`` from outside and dispatch its transforms."""
        rec = self.records.get(key)
        w = rec and rec.writer
        if not w or w.kind != "source":
            raise ValueError("push(%r): push only to a record that a source declared with p.source(key)" % key)
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

    def fail(self, node, value, error):
        """Count an error on ``node`` and set aside what it was working on, with the reason.
        A failed source emits its declared ``missing`` value, if any."""
        node.errors += 1
        node.last_error = "%s: %s" % (type(error).__name__, error) if isinstance(error, Exception) else error
        self.dead_letters.add(node.name, value, node.last_error)
        if node.kind == "source" and node.missing is not None:
            try:
                self.emit(node.out_rec, node.missing)
            except Exception:
                pass  # e.g. QueueFull: the same condition, already counted above

    # -- tasks ---------------------------------------------------------------------

    def start(self, clock=None):
        """Create the source and tap tasks on the running loop."""
        self.clock = clock or sys.modules[__name__]
        for node in self.nodes:  # bind hook: HOOKS.md
            if node.kind == "transform" and hasattr(node.fn, "bind"):
                node.fn.bind(self, node)
        create = asyncio.create_task
        for tap in self.taps:
            self._tasks.append(create(self._tap(tap)))
        for src in self.sources:
            if src.fn is None:
                continue
            src.signal = Signal() if clock else None  # only a virtual clock needs it
            self._tasks.append(create(self._periodic(src) if not src.is_task else self._supervised(src)))

    def spawn(self, coro):  # bind hook: HOOKS.md
        """A task the graph owns and cancels in ``stop()``."""
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        return task

    def write(self, node, value):  # bind hook: HOOKS.md
        """Write ``value`` as if transform ``node`` had returned it (None is ignored)."""
        if value is not None:
            try:
                self.emit(node.out_rec, value)
            except Exception as e:
                self.fail(node, value, e)

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
        failed = lambda value, error: self.fail(tap, value, error)  # noqa: E731
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
                if value is not None:
                    while rec.kind == "queue" and rec.policy == BLOCK and rec.full():
                        await rec.room()  # backpressure: the slot waits, the grid stays
                    self.emit(rec, value)  # an ERROR queue's QueueFull is a failure too
                    src.runs = (src.runs + 1) & _WRAP
            except Exception as e:
                failures += 1
                self.fail(src, None, e)
                wait = self._backoff(src, failures)
                if wait > period:
                    deadline = clock.add(deadline, (wait // period) * period - period)
                continue
            if failures:
                src.restarts += 1
                failures = 0

    async def _supervised(self, src):
        clock = self.clock
        failures = 0
        while True:
            try:
                await src.fn(src)
                return
            except Exception as e:
                failures += 1
                self.fail(src, None, e)
            await clock.sleep_until(clock.add(clock.now(), self._backoff(src, failures)), src.signal)
            src.restarts += 1

    # -- inspection ----------------------------------------------------------------

    def stats(self):
        """Counters for every record, node and tap reader, and the dead letters."""
        from .describe import stats

        return stats(self)

    def describe(self, mermaid=False):
        """The graph as text, or as a Mermaid flowchart for docs."""
        from . import describe

        return describe.mermaid(self) if mermaid else describe.text(self)
