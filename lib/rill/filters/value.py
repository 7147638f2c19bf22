"""Filters that look at one value at a time: offset, multiply, lambda_, clamp, and
skip_initial (which counts). Heap: a few attributes each, nothing per record with
small-int values (a float result is a new float object on MicroPython, as anywhere).
NaN follows ESPHome: arithmetic passes it on, clamp maps it to a bound.
"""


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


class clamp:
    """Limit to [min_value, max_value] (either may be omitted); ``ignore_out_of_range``
    drops out-of-range values instead. NaN goes to min_value if set, else max_value
    (dropped when ignoring); an infinity goes to the bound on its side, if set."""

    def __init__(self, min_value=None, max_value=None, ignore_out_of_range=False):
        if min_value is None and max_value is None:
            raise ValueError("clamp needs min_value or max_value")
        if min_value is not None and max_value is not None and min_value > max_value:
            raise ValueError("clamp's min_value (%r) is larger than its max_value (%r)" % (min_value, max_value))
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


class skip_initial:
    """Drop the first ``n`` values, then pass everything."""

    def __init__(self, n):
        self.left = n

    def __call__(self, x):
        if self.left > 0:
            self.left -= 1
            return None
        return x
