"""The delta filter: pass a value only when it changed enough (a module not named delta,
which would shadow the filter on CPython). Heap: a few attributes, nothing per record
with small-int values.
"""
from .common import INF, NAN


def _bound(v):
    """A delta bound as (absolute, percent of the baseline), from 2.0 or "10%"."""
    if isinstance(v, str) and v.endswith("%"):
        p = v[:-1].strip()
        return 0, int(p) if p.isdigit() else float(p)
    return v, 0


class delta:
    """Pass a value only when it differs from the baseline (by default the last value
    passed) by more than ``min_value`` and at most ``max_value``. Each bound is a
    number, or a percentage of the baseline as a string: ``delta("10%")``. The first
    value always passes; later NaN values are dropped. ``baseline`` may be a number or
    a function of the last passed value. Whole percentages keep int arithmetic. At least
    one bound is given, as ESPHome requires (``delta(0)`` drops repeats)."""

    def __init__(self, min_value=None, max_value=None, baseline=None):
        if min_value is None and max_value is None:
            raise ValueError("delta needs min_value or max_value")
        self.lo, self.lo_pct = _bound(0 if min_value is None else min_value)
        self.hi, self.hi_pct = _bound(INF if max_value is None else max_value)
        self.baseline = baseline
        self.last = NAN

    def __call__(self, x):
        last = self.last
        if last != last:
            self.last = x
            return x
        ref = self.baseline
        ref = last if ref is None else (ref(last) if callable(ref) else ref)
        d = abs(x - ref)
        p = self.lo_pct
        if not (d * 100 > abs(ref) * p if p else d > self.lo):
            return None
        p = self.hi_pct
        if not (d * 100 <= abs(ref) * p if p else d <= self.hi):
            return None
        self.last = x
        return x
