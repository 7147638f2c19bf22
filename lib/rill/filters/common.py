"""What the filter modules share, kept small so each module imports only this: NaN as
chain data spells it, matching values (NaN matches NaN), C's rounding. (The clock's plumbing is in
rill.filters.clocked.)
"""
from math import floor

NAN = float("nan")
INF = float("inf")


def roundf(v):
    """C's roundf: halves round away from zero (Python's round() rounds them to even)."""
    return floor(v + 0.5) if v >= 0 else -floor(0.5 - v)


def number(v):
    """``v``, with "nan" (how chain data from JSON spells NaN) as NaN."""
    return NAN if v == "nan" else v


def matcher(values):
    """``values`` (one number or a list) as a tuple for ``matches``: NaN matches NaN."""
    return tuple(number(v) for v in values) if isinstance(values, (list, tuple)) else (number(values),)


def matches(values, x):
    for v in values:
        if v == x or (v != v and x != x):
            return True
    return False

