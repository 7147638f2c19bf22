"""Rounding and matching: round, round_to_multiple_of, round_to_significant_digits,
and filter_out (which compares after rounding when given ``accuracy_decimals``).
NaN and infinities pass the rounding filters unchanged. Heap: a few attributes each;
nothing per record with small-int values (a float result is a new float).
"""
from math import ceil, log10

from .common import INF, matcher, matches, roundf

_round_even = round  # the builtin (this module's round is ESPHome's filter): ties to even on both runtimes


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
