"""Stateful transforms with ESPHome's filter names and semantics.

Each is a callable object: ``p.transform("smooth", sliding_window_moving_average(5, 5), "raw")``.
Windows are preallocated ``array('f')``; returning None means "send nothing this time".
"""
from array import array
from time import ticks_diff, ticks_ms


class offset:
    def __init__(self, value):
        self.value = value

    def __call__(self, x):
        return x + self.value


class multiply:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor


class calibrate_linear:
    """Least-squares line through (measured, truth) pairs, as ESPHome does."""

    def __init__(self, points):
        n = len(points)
        if n < 2:
            raise ValueError("calibrate_linear needs at least two points")
        sx = sum(p[0] for p in points)
        sy = sum(p[1] for p in points)
        sxx = sum(p[0] * p[0] for p in points)
        sxy = sum(p[0] * p[1] for p in points)
        den = n * sxx - sx * sx
        if den == 0:
            raise ValueError("calibrate_linear needs two different measured values")
        self.slope = (n * sxy - sx * sy) / den
        self.bias = (sy - self.slope * sx) / n

    def __call__(self, x):
        return self.slope * x + self.bias


class clamp:
    """Limit to [min_value, max_value]; with ignore_out_of_range, drop instead."""

    def __init__(self, min_value=None, max_value=None, ignore_out_of_range=False):
        self.lo = min_value
        self.hi = max_value
        self.ignore = ignore_out_of_range

    def __call__(self, x):
        if self.lo is not None and x < self.lo:
            return None if self.ignore else self.lo
        if self.hi is not None and x > self.hi:
            return None if self.ignore else self.hi
        return x


class filter_out:
    """Drop one specific value (for example a sensor's 'not ready' reading)."""

    def __init__(self, value):
        self.value = value

    def __call__(self, x):
        return None if x == self.value else x


class delta:
    """Pass a value only when it differs from the last passed one by at least ``min_delta``."""

    def __init__(self, min_delta):
        self.min_delta = min_delta
        self.last = None

    def __call__(self, x):
        if self.last is not None and abs(x - self.last) < self.min_delta:
            return None
        self.last = x
        return x


class throttle:
    """Pass at most one value per ``ms``; ``now`` is the clock (``graph.clock.now`` in tests)."""

    def __init__(self, ms, now=ticks_ms, diff=ticks_diff):
        self.ms = ms
        self.now = now
        self.diff = diff
        self.last = None

    def __call__(self, x):
        t = self.now()
        if self.last is not None and self.diff(t, self.last) < self.ms:
            return None
        self.last = t
        return x


class _Window:
    def __init__(self, window_size, send_every, send_first_at):
        if window_size < 1 or send_every < 1:
            raise ValueError("window_size and send_every must be at least 1")
        self.buf = array("f", [0.0] * window_size)
        self.n = 0  # values in the window
        self.i = 0  # next slot
        self.every = send_every
        self.countdown = send_first_at

    def _push(self, x):
        size = len(self.buf)
        self.buf[self.i] = x
        self.i = (self.i + 1) % size
        if self.n < size:
            self.n += 1
        self.countdown -= 1
        if self.countdown > 0:
            return False
        self.countdown = self.every
        return True


class sliding_window_moving_average(_Window):
    def __init__(self, window_size=15, send_every=15, send_first_at=1):
        super().__init__(window_size, send_every, send_first_at)

    def __call__(self, x):
        if not self._push(x):
            return None
        total = 0.0
        for k in range(self.n):
            total += self.buf[k]
        return total / self.n


class median(_Window):
    def __init__(self, window_size=5, send_every=5, send_first_at=1):
        super().__init__(window_size, send_every, send_first_at)
        self.scratch = array("f", [0.0] * window_size)

    def __call__(self, x):
        if not self._push(x):
            return None
        n = self.n
        s = self.scratch
        for k in range(n):  # insertion sort into preallocated scratch
            v = self.buf[k]
            j = k
            while j > 0 and s[j - 1] > v:
                s[j] = s[j - 1]
                j -= 1
            s[j] = v
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class exponential_moving_average:
    def __init__(self, alpha=0.1, send_every=15, send_first_at=1):
        self.alpha = alpha
        self.value = None
        self.every = send_every
        self.countdown = send_first_at

    def __call__(self, x):
        self.value = x if self.value is None else self.alpha * x + (1 - self.alpha) * self.value
        self.countdown -= 1
        if self.countdown > 0:
            return None
        self.countdown = self.every
        return self.value
