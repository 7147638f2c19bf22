"""Throttles: throttle, throttle_with_priority, throttle_average (a module not named
throttle, which would shadow the filter on CPython). Periods are in milliseconds of the
pipeline's clock, which they get through ``bind(graph, node)`` when the graph starts (so
tests run in virtual time); called outside a pipeline, throttle uses ``time.ticks_ms``.
throttle_average sends on its own: one task, owned by the graph, writing through
``graph.write``.

Heap: a few attributes each (throttle_average: plus one task). Nothing per record with
small-int values.
"""
from .clocked import _Clocked, every
from .common import NAN, matcher, matches


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

    lineage_kind = "since"  # rill.lineage_ops: a result names the period's values

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
