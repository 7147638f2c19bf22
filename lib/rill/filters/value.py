"""Filters that look at one value at a time (and, for delta and skip_initial, a little
state): offset, multiply, lambda_, filter_out, clamp, round, round_to_multiple_of,
round_to_significant_digits, skip_initial, delta.

Heap: a few attributes each, nothing per record with small-int values (a float result
is a new float object on MicroPython, as anywhere). NaN follows ESPHome: arithmetic
passes it on, the rounding filters pass it unchanged, clamp maps it to a bound.
"""
from math import ceil, log10

from .common import INF, NAN, matcher, matches, roundf

_round_even = round  # the builtin (this module's round is ESPHome's filter): ties to even on both runtimes


class offset:
    """``x + value``."""

    def __init__(self, value):
        self.value = value

    def __call__(self, x):
        return x + self.value


class multiply:
    """``x * value``."""

    def __init__(self, value):
        self.value = value

    def __call__(self, x):
        return x * self.value


class lambda_:
    """ESPHome's ``lambda``: any function of the value; its None sends nothing."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class filter_out:
    """Drop the value, or any of a list of values. ``nan`` drops NaN. ESPHome compares
    after rounding to the sensor's ``accuracy_decimals``; rill records have none, so
    the comparison is exact unless ``accuracy_decimals`` is given."""

    def __init__(self, value, accuracy_decimals=None):
        self.values = matcher(value)
        self.mult = None if accuracy_decimals is None else 10 ** accuracy_decimals
        if self.mult is not None:
            self.values = tuple(v if v != v else roundf(v * self.mult) for v in self.values)

    def __call__(self, x):
        if self.mult is None:
            return None if matches(self.values, x) else x
        return None if matches(self.values, x if x != x else roundf(x * self.mult)) else x


class clamp:
    """Limit to [min_value, max_value] (either may be omitted); ``ignore_out_of_range``
    drops out-of-range values instead. NaN goes to min_value if set, else max_value
    (dropped when ignoring); an infinity goes to the bound on its side, if set."""

    def __init__(self, min_value=None, max_value=None, ignore_out_of_range=False):
        if min_value is None and max_value is None:
            raise ValueError("clamp needs min_value or max_value")
        self.lo = min_value
        self.hi = max_value
        self.ignore = ignore_out_of_range

    def __call__(self, x):
        lo = self.lo
        hi = self.hi
        if x != x:
            return None if self.ignore else (lo if lo is not None else hi)
        if lo is not None and x < lo:
            return None if self.ignore else lo
        if hi is not None and x > hi:
            return None if self.ignore else hi
        return x


class round:
    """Round to ``decimals`` places, halves away from zero. An int passes unchanged
    (it is already round); NaN and infinities pass unchanged."""

    def __init__(self, decimals):
        self.mult = 10 ** decimals

    def __call__(self, x):
        if type(x) is int or x != x or x == INF or x == -INF:
            return x
        return roundf(x * self.mult) / self.mult


class round_to_multiple_of:
    """Round to the nearest multiple of ``multiple`` (> 0); a tie goes to the even
    multiple, as ESPHome's ``value - remainderf(value, multiple)`` does. Ints with an
    int multiple stay ints; NaN and infinities pass unchanged."""

    def __init__(self, multiple):
        if not multiple > 0:
            raise ValueError("round_to_multiple_of needs a multiple greater than zero")
        self.m = multiple

    def __call__(self, x):
        m = self.m
        if type(x) is int and type(m) is int:
            q = x // m
            r = x - q * m
            return (q + 1) * m if 2 * r > m or (2 * r == m and q & 1) else q * m
        if x != x or x == INF or x == -INF:
            return x
        return m * _round_even(x / m)


class round_to_significant_digits:
    """Round to ``digits`` (1 to 6) significant digits: 3.14159 -> 3.1, 157079 -> 160000
    with 2. Zero, NaN and infinities pass unchanged."""

    def __init__(self, digits):
        if not 1 <= digits <= 6:
            raise ValueError("round_to_significant_digits takes 1 to 6 digits")
        self.digits = digits

    def __call__(self, x):
        if x == 0 or x != x or x == INF or x == -INF:
            return x
        e = self.digits - ceil(log10(abs(x)))
        if e >= 0:
            f = 10 ** e
            return roundf(x * f) / f
        f = 10 ** -e
        return roundf(x / f) * f


class skip_initial:
    """Drop the first ``n`` values, then pass everything."""

    def __init__(self, n):
        self.left = n

    def __call__(self, x):
        if self.left > 0:
            self.left -= 1
            return None
        return x


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
    a function of the last passed value. Whole percentages keep int arithmetic."""

    def __init__(self, min_value=0, max_value=None, baseline=None):
        self.lo, self.lo_pct = _bound(min_value)
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
