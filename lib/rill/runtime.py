"""The built graph: synchronous depth-ordered dispatch, and the tasks that drive it.

A write to a record runs, in one dispatch cycle, every transform downstream of it in
depth order; each runs at most once per cycle (a diamond joins once) and only if one
of its trigger inputs was written in that cycle. Taps run in their own tasks and read
the record's buffer, so a slow observer never blocks a producer. Dispatch allocates
nothing: transforms are called with positional arguments, counters stay small ints.
"""
import asyncio

from micropython import const

from .buffers import EMPTY
from .clock import Clock
from .signal import Signal

_WRAP = const(0x3FFFFFFF)
_MAX_SHIFT = const(16)


def _reason(e):
    return "%s: %s" % (type(e).__name__, e)


class Graph:
    def __init__(self, pipeline, records, nodes):
        from .buffers import DeadLetters

        self.name = pipeline.name
        self.records = records
        self.keys = pipeline._keys
        self.nodes = nodes
        self.dead_letters = DeadLetters(pipeline.dead_letters)
        self.clock = None
        self._cycle = 0
        self._tasks = []
        self._stopped = None
        self.sources = [n for n in nodes if n.kind == "source"]
        self.taps = [n for n in nodes if n.kind == "tap"]
        for n in nodes:
            n.out_rec = records[n.out] if n.out is not None else None
            n.in_recs = tuple(records[k] for k in n.inputs)
            n.args = tuple(records[k] for k in n.inputs + n.watch)
            n.arity = len(n.args)
            if n.kind == "source":
                n.emit = _Emitter(self, n)
        for rec in records.values():
            rec.plan = tuple(_downstream(rec, nodes))
        for tap in self.taps:
            rec = tap.in_recs[0]
            tap.reader = rec.buffer.reader()
            tap.signal = Signal()
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

    def emit(self, rec, value):
        c = (self._cycle + 1) & _WRAP
        self._cycle = c
        if not rec.buffer.put(value):
            return  # a full DROP queue refused it (counted there); nothing downstream sees it
        rec.value = value
        rec.stamp = c
        for s in rec.signals:
            s.set()
        for node in rec.plan:
            for t in node.in_recs:
                if t.stamp == c:
                    break
            else:
                continue
            a = node.args
            n = node.arity
            try:
                if n == 1:
                    out = node.fn(a[0].value)
                elif n == 2:
                    out = node.fn(a[0].value, a[1].value)
                elif n == 3:
                    out = node.fn(a[0].value, a[1].value, a[2].value)
                else:
                    out = node.fn(*[r.value for r in a])
                node.runs = (node.runs + 1) & _WRAP
                if out is None:
                    continue
                o = node.out_rec
                if not o.buffer.put(out):
                    continue
                o.value = out
                o.stamp = c
                for s in o.signals:
                    s.set()
            except Exception as e:
                self.fail(node, a[0].value, e)

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
        reader = tap.reader
        fn = tap.fn
        while True:
            await tap.signal
            while True:
                value = reader.read()
                if value is EMPTY:
                    break
                try:
                    fn(value)
                    tap.runs = (tap.runs + 1) & _WRAP
                except Exception as e:
                    self.fail(tap, value, e)

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
                buf = rec.buffer
                if buf.kind == "queue" and buf.full():
                    await buf.room()
                self.emit(rec, value)
                src.runs = (src.runs + 1) & _WRAP

    async def _supervised(self, src):
        clock = self.clock
        failures = 0
        while True:
            try:
                await src.fn(src.emit)
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
        """Counters for every record buffer, node and tap reader, and the dead letters."""
        out = {"records": {}, "nodes": {}, "dead_letters": self.dead_letters.stats()}
        for key in self.keys:
            out["records"][key] = self.records[key].buffer.stats()
        for n in self.nodes:
            s = n.stats()
            if n.kind == "source":
                s.update(failures=n.failures, restarts=n.restarts, overruns=n.overruns)
            elif n.kind == "tap":
                s.update(lag=n.reader.lag(), missed=n.reader.missed)
            out["nodes"]["%s:%s" % (n.kind, n.name)] = s
        return out

    def describe(self):
        from .describe import text

        return text(self)

    def mermaid(self):
        from .describe import mermaid

        return mermaid(self)


class _Emitter:
    """``emit(value)`` handed to a task source: writes its record and dispatches."""

    def __init__(self, graph, node):
        self._graph = graph
        self._node = node

    def __call__(self, value):
        node = self._node
        node.runs = (node.runs + 1) & _WRAP
        self._graph.emit(node.out_rec, value)

    async def wait(self, value):
        """Like calling it, but first wait for room in a full queue (backpressure)."""
        buf = self._node.out_rec.buffer
        if buf.kind == "queue":
            while buf.full():
                await buf.room()
        self(value)


def _downstream(rec, nodes):
    """Transforms reachable from ``rec`` through trigger inputs, in (depth, declaration) order."""
    found = []
    frontier = [rec.key]
    while frontier:
        key = frontier.pop()
        for n in nodes:
            if n.kind == "transform" and key in n.inputs and n not in found:
                found.append(n)
                frontier.append(n.out)
    order = {}
    for i, n in enumerate(nodes):
        order[n] = i
    found.sort(key=lambda n: (n.depth, order[n]))
    return found
