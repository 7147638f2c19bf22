"""Filters that send on their own: heartbeat, timeout, debounce (rill.filters.throttles
has the throttles). Periods are in milliseconds of the pipeline's clock, which they get
through ``bind(graph, node)`` when the graph starts (so tests run in virtual time); each
runs one task, owned by the graph, and writes through ``graph.write``.

Heap: a few attributes each, plus one task and (timeout, debounce) one Signal, about
200 B. Nothing per record with small-int values.
"""
from ..buffers import Signal
from .clocked import _Clocked, every
from .common import NAN, number


class heartbeat(_Clocked):
    """Every ``ms``, send the last value received (nothing before the first). With
    ``optimistic``, every value also passes at once."""

    lineage_kind = "held"  # rill.lineage_ops: a beat names the value it repeats

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

    lineage_kind = "held"  # rill.lineage_ops: what fire() sends names the last value received

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
