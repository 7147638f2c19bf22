"""The built graph: synchronous depth-ordered dispatch, the tasks that drive it, and
the real clock they sleep on.

A write to a record runs, in one dispatch, every transform downstream of it in depth
order; each runs at most once per dispatch (a diamond joins once) and only if one of
its trigger inputs was written in that dispatch. Each writer's dispatch is its step
table run by rill.dispatch (the reference), or, when the app was built on the host
with a matching ``rill_dispatch_<pipeline>`` module (rill.wiring), that module's native
function for it. Nothing is compiled on the device. Taps run in their own tasks and
read the record's buffer, so a slow observer never blocks a producer. Dispatch
allocates nothing: transforms are called with positional arguments, counters stay
small ints, and a failure is kept as raised.
"""
import asyncio
import time

import micropython
from micropython import const

from .buffers import BLOCK, DeadLetters, Signal

_WRAP = const(0x3FFFFFFF)

# -- the real clock ---------------------------------------------------------------
# This module is the real clock: ``now``/``add``/``diff`` on ``time.ticks_ms`` and
# ``sleep_until``, the interface of rill.clock.VirtualClock. ``Graph.start()`` runs on it
# unless given another (rill.clock.RealClock() returns it). A module is a clock for free:
# a class with those four would cost every board about 300 B more heap.
now = time.ticks_ms
add = time.ticks_add
diff = time.ticks_diff


def sleep_until(t):
    """An awaitable that ends at ``t`` (``ticks_ms`` time); allocates nothing on
    MicroPython, where ``asyncio.sleep_ms`` returns a reusable generator."""
    ms = time.ticks_diff(t, time.ticks_ms())
    return asyncio.sleep_ms(ms if ms > 0 else 0)


class Graph:
    # Each of these is stored on an instance only when it differs. A class's or instance's
    # attributes beyond 12 (and beyond 17) regrow its table: on a small heap, the graph's
    # class and a graph that runs the reference stay within them. An instance also has
    # clock (the clock of start()), started (the clock's time at start()) and _stopped.
    lineage = None  # a rill.lineage.Lineage when built with lineage=True
    dispatch = "reference"  # (rill.dispatch), or "module" (the host-built fast path), or "mixed" (rill.wiring)

    def __init__(self, pipeline, wired):
        """The validated ``pipeline``, wired by rill.wiring (``wired``: rill.wiring.wire's
        tuple: each writer's step table and dispatch, from the (node, trigger mask) pairs that rill.check
        ordered; the host-built module's functions when it matches, else the
        reference)."""
        self.name = pipeline.name
        self.records = pipeline.records
        self.keys = pipeline.keys
        self.nodes = nodes = pipeline.nodes
        self.dead_letters = DeadLetters(pipeline.dead_letters)
        self._tasks = []
        self.clock = self._stopped = None
        self._writers, dispatch, lineage, self.sources, self.taps = wired  # (_writers: a source's key,
        if dispatch != "reference":  # or a transform node (write()) -> its dispatch)
            self.dispatch = dispatch
        if lineage is not None:
            self.lineage = lineage
        for n in nodes:  # (each node's out_rec, and a tap's reader, were set by rill.wiring)
            n.graph = self

    # -- dispatch ------------------------------------------------------------------

    @micropython.native
    def push(self, key, value):
        """Write ``value`` to record ``key`` from outside and dispatch its transforms.

        It runs the writer's dispatch (rill.wiring chose it), the one dispatch: a task
        source's ``emit`` runs the same function, and a periodic source comes here. The
        first step's write may raise (QueueFull from an ERROR or BLOCK queue) to the
        caller; a transform's raise, or its output's, is that transform's failure."""
        try:
            fn = self._writers[key]  # (faster than get() on MicroPython)
        except KeyError:
            from .check import refusal  # (its text costs the running graph no heap)

            raise refusal(0, key)
        fn(value)

    def write(self, node, value):
        """Write ``value`` to ``node``'s output and dispatch downstream, as if the
        transform ``node`` had returned it (None is ignored): for bound transforms' timers."""
        if value is not None:
            try:
                self.push(node, value)
            except Exception as e:  # e.g. QueueFull: the transform's failure, as in push
                self.fail(node, value, e)

    def fail(self, node, value, error):
        """Count an error on ``node`` and set aside what it was working on, with the error
        as raised. Allocates nothing. A failed source emits its ``missing`` value, if any."""
        node.errors = (node.errors + 1) & _WRAP
        node.error = error
        self.dead_letters.add(node.name, value, error)
        if node.kind == "source" and node.missing is not None:
            try:
                self.push(node.out, node.missing)
            except Exception:
                pass  # e.g. QueueFull: the same condition, already counted above

    # -- tasks ---------------------------------------------------------------------

    def spawn(self, coro):
        """Run ``coro`` as a task that the graph owns: ``stop()`` cancels it."""
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        return task

    def start(self, clock=None):
        """Create the source and tap tasks on the running loop. ``clock`` defaults to
        this module, the real clock. Transforms with a ``bind`` attribute get ``fn.bind(graph, node)``
        first, once."""
        if clock is None:
            from . import graph as clock  # the real clock: this module
        self.clock = clock
        self.started = clock.now()
        for n in self.nodes:
            if n.kind == "transform" and hasattr(n.fn, "bind"):
                n.fn.bind(self, n)
        for tap in self.taps:
            self.spawn(self._tap(tap))
        for src in self.sources:
            if src.fn is not None:
                self.spawn(self._supervised(src) if src.is_task else self._periodic(src))

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
        fail = self.fail
        signal = tap.signal
        lineage = self.lineage
        if lineage is not None:
            reader, buf = tap.reader, self.records[tap.inputs[0]]
        while True:
            await signal
            if lineage is None:
                n = drain(fn, fail, tap)
            else:  # one record at a time, so that lineage.current() names it
                n = lineage.drain(reader, buf, fn, fail, tap)
            tap.runs = (tap.runs + n) & _WRAP

    async def _periodic(self, src):
        """Sample ``src.fn`` on absolute deadlines. Every failure, a MemoryError included,
        is counted and backed off; the task itself never dies of one."""
        clock = self.clock
        period = src.every_ms
        rec = src.out_rec
        read = src.fn
        backoff = src.backoff
        failing = False
        deadline = clock.now()
        while True:
            deadline = clock.add(deadline, period)
            late = clock.diff(clock.now(), deadline)
            if late >= period:  # the loop was held up: skip the missed slots, keep the grid
                skip = late // period
                src.overruns += skip
                deadline = clock.add(deadline, skip * period)
            await clock.sleep_until(deadline)
            try:
                value = read()
                if value is not None:
                    if rec.policy == BLOCK and rec.full():
                        await rec.room()  # backpressure: the slot waits, the grid stays
                    self.push(src.out, value)  # an ERROR queue's QueueFull is a failure too
            except Exception as e:
                failing = True
                self.fail(src, None, e)
                wait = backoff.next()
                if wait > period:
                    deadline = clock.add(deadline, (wait // period) * period - period)
                continue
            if failing:
                failing = False
                src.restarts += 1
                backoff.reset()

    async def _supervised(self, src):
        clock = self.clock
        while True:
            try:
                await src.fn(src)
                return
            except Exception as e:
                self.fail(src, None, e)
            await clock.sleep_until(clock.add(clock.now(), src.backoff.next()))
            src.restarts += 1

    # -- inspection ----------------------------------------------------------------

    def stats(self):
        """Counters for every record, node and tap reader, and the dead letters."""
        from .describe import stats

        return stats(self)

    def describe(self, mermaid=False):
        """The graph as text, or as a Mermaid flowchart for docs."""
        from .describe import describe

        return describe(self, mermaid)
