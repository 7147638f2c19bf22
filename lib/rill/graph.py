"""The built graph: synchronous depth-ordered dispatch, the tasks that drive it, and
the real clock they sleep on.

A write to a record runs, in one dispatch, every transform downstream of it in depth
order; each runs at most once per dispatch (a diamond joins once) and only if one of
its trigger inputs was written in that dispatch. Taps run in their own tasks and read
the record's buffer, so a slow observer never blocks a producer. Dispatch allocates
nothing: transforms are called with positional arguments, counters stay small ints,
and a failure is kept as raised.
"""
import asyncio
import time

import micropython
from micropython import const

from .buffers import BLOCK, DeadLetters
from .wake import Signal

_WRAP = const(0x3FFFFFFF)


def _call(fn, args, n):
    """Call ``fn`` with the values of ``args`` (4 to 8 buffers: rill.check._MAX_ARGS), without allocating."""
    a = args
    if n == 4:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value)
    if n == 5:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value)
    if n == 6:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value)
    if n == 7:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value, a[6].value)
    return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value, a[6].value, a[7].value)


class RealClock:
    """``time.ticks_ms`` time, what ``Graph.start()`` uses; rill.clock has VirtualClock,
    with the same interface. ``sleep_until`` allocates nothing on MicroPython, where
    ``asyncio.sleep_ms`` returns a reusable generator. (Here rather than in rill.clock:
    a module of its own would cost every board about 0.5 KB more heap.)"""

    now = staticmethod(time.ticks_ms)
    add = staticmethod(time.ticks_add)
    diff = staticmethod(time.ticks_diff)

    @staticmethod
    def sleep_until(t):
        ms = time.ticks_diff(t, time.ticks_ms())
        return asyncio.sleep_ms(ms if ms > 0 else 0)


class Graph:
    def __init__(self, pipeline):
        """Wire the validated ``pipeline``: tap readers and Signals, then each writer's
        plan of steps, from the (node, trigger mask) pairs that rill.check ordered."""
        self.name = pipeline.name
        self.records = records = pipeline._records
        self.keys = pipeline._keys
        self.nodes = nodes = pipeline._nodes
        self.dead_letters = DeadLetters(pipeline.dead_letters)
        self.clock = None
        self._tasks = []
        self._stopped = None
        self._writers = {}  # push(): a source's key, or a transform node itself (write())
        self.sources = []
        self.taps = []
        for n in nodes:
            n.graph = self
            n.out_rec = records.get(n.out)
            if n.kind == "source":
                self.sources.append(n)
                self._writers[n.out] = n
            elif n.kind == "transform":
                self._writers[n] = n
            else:
                self.taps.append(n)
                n.reader = records[n.inputs[0]].reader()
                n.signal = Signal()
        for n in nodes:  # each writer's plan: rill.check's (node, trigger mask) pairs, made steps
            if n.out is not None:
                steps = []
                for i, (t, trig) in enumerate(n.plan):
                    out = records[t.out]
                    args = (out,)
                    if i:  # (loops, not generator expressions: each of those is code kept in the heap)
                        args = ()
                        for k in t.inputs + t.watch:
                            args += (records[k],)
                    wake = ()
                    for tap in self.taps:
                        if tap.inputs[0] == t.out:
                            wake += (tap.signal,)
                    put = None if out.kind == "latest" else out.put  # dispatch stores into a Latest itself
                    step = (t.fn if i else None, len(args), trig, 1 << i, args[0], args, out, put, wake, t)
                    steps.append(step)
                n.plan = tuple(steps)

    # -- dispatch ------------------------------------------------------------------
    #
    # A *step* is a plain tuple, made above and unpacked in one go by ``push`` (the fastest
    # form on MicroPython; a class or a namedtuple costs attribute lookups or allocates;
    # a constructor function would cost every board heap for its code and names):
    #   (fn, n, trig, bit, first, args, out, put, wake, node)
    # - fn: the transform, called with the inputs' values; None for the plan's first step,
    #   which writes the value being dispatched.
    # - n: how many values fn takes (inputs, then watched records).
    # - trig: bitmask of the earlier steps whose write triggers this one (a plan has at most
    #   rill.check._MAX_STEPS steps, so that the mask stays a small int).
    # - bit: this step's bit (1 << its index), set in the dispatch's mask when it writes.
    # - first: the first input's buffer; args: all the input buffers.
    # - out: the buffer written; put: its put, or None for a Latest, which push stores into.
    # - wake: the Signals of the taps on out.
    # - node: the transform's Node, for its counters and fail().
    # A plan is a writer's steps: its write, then the transforms downstream in depth order.

    @micropython.native
    def push(self, key, value):
        """Write ``value`` to record ``key`` from outside and dispatch its transforms.

        The one dispatch: a task source's ``emit`` and a periodic source come here too.
        It runs the writer's plan of steps (see above). The first step's write may raise
        (QueueFull from an ERROR or BLOCK queue) to the caller; a transform's raise, or
        its output's, is that transform's failure."""
        src = self._writers.get(key)
        if src is None:
            raise ValueError("push(%r): push only to a record that a source declared with p.source(key)" % key)
        src.runs = (src.runs + 1) & _WRAP
        written = 0
        out = value
        for fn, n, trig, bit, first, args, o, put, wake, node in src.plan:
            try:
                if fn is not None:
                    if not trig & written:
                        continue
                    if n == 1:
                        out = fn(first.value)
                    elif n == 2:
                        out = fn(first.value, args[1].value)
                    elif n == 3:
                        out = fn(first.value, args[1].value, args[2].value)
                    else:
                        out = _call(fn, args, n)
                    if out is None:
                        node.filtered = (node.filtered + 1) & _WRAP
                        continue
                # the write and the wake, for the value and every transform's result
                if put is None:
                    o.value = out
                    o.produced = (o.produced + 1) & _WRAP
                elif not put(out):
                    continue  # a full DROP queue refused it (counted there)
                written |= bit
                if wake:
                    for s in wake:
                        if not s.pending:
                            s.set()
            except Exception as e:
                if fn is None:
                    raise e  # (native code has no bare raise)
                self.fail(node, first.value, e)

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
        ``RealClock()``. Transforms with a ``bind`` attribute get ``fn.bind(graph, node)``
        first, once."""
        self.clock = clock or RealClock()
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
        while True:
            await signal
            tap.runs = (tap.runs + drain(fn, fail, tap)) & _WRAP

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
