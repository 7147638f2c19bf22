"""Filters that keep time: throttle, throttle_with_priority, throttle_average, heartbeat,
timeout, debounce. Periods are in milliseconds of the pipeline's clock, which they get
through ``bind(graph, node)`` when the graph starts (so tests run in virtual time);
called outside a pipeline, throttle uses ``time.ticks_ms``. The ones that send on their
own (heartbeat, throttle_average, timeout, debounce) run one task each, owned by the
graph, and write through ``graph.write``.

Heap: a few attributes each, plus one task and one Signal (about 200 B) for those that
send on their own. Nothing per record with small-int values.
"""
from ..graph import RealClock as _ticks  # the real clock: now/add/diff on time.ticks_ms
from ..wake import Signal
from .common import NAN, every, matcher, matches, number


class _Clocked:
    clock = _ticks
    graph = node = None

    def bind(self, graph, node):
        self.clock = graph.clock
        self.graph = graph
        self.node = node


class throttle(_Clocked):
    """Pass a value only if the last one passed is at least ``ms`` old."""

    def __init__(self, ms):
        self.ms = ms
        self.last = None

    def _open(self):
        t = self.clock.now()
        if self.last is None or self.clock.diff(t, self.last) >= self.ms:
            self.last = t
            return True
        return False

    def __call__(self, x):
        return x if self._open() else None


class throttle_with_priority(throttle):
    """throttle, except that the prioritized ``value`` (or any of a list of values; by
    default NaN) always passes at once, and restarts the period."""

    def __init__(self, ms, value=NAN):
        super().__init__(ms)
        self.values = matcher(value)

    def __call__(self, x):
        if matches(self.values, x):
            self.last = self.clock.now()
            return x
        return x if self._open() else None


class throttle_average(_Clocked):
    """Every ``ms``, send the average of the values received in that period (a single
    value is sent as it is). A period with no values sends nothing; one with only NaN
    values sends NaN."""

    accumulates = True  # rill.lineage: a result's origin spans the period's values

    def __init__(self, ms):
        self.ms = ms
        self.sum = 0
        self.n = 0
        self.nan = False

    def bind(self, graph, node):
        super().bind(graph, node)
        every(graph, node, self.ms, self._flush)

    def __call__(self, x):
        if x != x:
            self.nan = True
        else:
            self.sum += x
            self.n += 1
        return None

    def _flush(self):
        n = self.n
        out = NAN if self.nan else None
        if n:
            out = self.sum if n == 1 else self.sum / n
            self.sum = 0
            self.n = 0
        self.nan = False
        return out


class heartbeat(_Clocked):
    """Every ``ms``, send the last value received (nothing before the first). With
    ``optimistic``, every value also passes at once."""

    def __init__(self, ms, optimistic=False):
        self.ms = ms
        self.optimistic = optimistic
        self.last = None

    def bind(self, graph, node):
        super().bind(graph, node)
        every(graph, node, self.ms, self._beat)

    def _beat(self):
        return self.last

    def __call__(self, x):
        self.last = x
        return x if self.optimistic else None


class _Deadline(_Clocked):
    """A timer that each value restarts: ``fire()`` runs once ``ms`` pass without a value."""

    def __init__(self, ms):
        self.ms = ms
        self.armed = False
        self.deadline = 0
        self.wake = Signal()

    def bind(self, graph, node):
        super().bind(graph, node)
        self.armed = False
        graph.spawn(self._run())

    def _arm(self):
        self.deadline = self.clock.add(self.clock.now(), self.ms)
        if not self.armed:
            self.armed = True
            self.wake.set()

    async def _run(self):
        clock = self.clock
        while True:
            if not self.armed:
                await self.wake
                continue
            await clock.sleep_until(self.deadline)
            if self.armed and clock.diff(clock.now(), self.deadline) >= 0:
                self.armed = False
                self.graph.write(self.node, self.fire())


class timeout(_Deadline):
    """Pass every value; once ``ms`` pass with no new value, send ``value`` (NaN by
    default; ``"last"`` repeats the last value received) once."""

    def __init__(self, ms, value=NAN):
        super().__init__(ms)
        self.value = number(value)
        self.last = None

    def __call__(self, x):
        self.last = x
        self._arm()
        return x

    def fire(self):
        return self.last if self.value == "last" else self.value


class debounce(_Deadline):
    """Send a value only once ``ms`` pass with no newer value (ESPHome's sensor
    debounce; rill.drivers.button.debounce is the one for button edges)."""

    def __init__(self, ms):
        super().__init__(ms)
        self.last = None

    def __call__(self, x):
        self.last = x
        self._arm()
        return None

    def fire(self):
        return self.last
