"""Windowed filters: sliding_window_moving_average, median, quantile, min, max, and
exponential_moving_average (no window, the same send_every/send_first_at counting).

``window_size`` values are kept in a list preallocated at construction; with
``send_every`` the result goes out every that many values, the first one after
``send_first_at`` values (ESPHome's counting). NaN values sit in the window but are left
out of the result; a window of only NaN gives NaN.

Heap: one list slot per window value (median and quantile: two, for a sort scratch),
plus the values themselves where they are floats. Nothing per record with small-int
values, except that a mean (and an even-sized median) is a new float.
"""
from .common import NAN


class _Window:
    accumulates = True  # rill.lineage: a result's origin spans the values since the last result

    def __init__(self, window_size, send_every, send_first_at):
        if window_size < 1 or send_every < 1 or not 1 <= send_first_at <= send_every:
            raise ValueError("window_size and send_every must be at least 1, send_first_at from 1 to send_every")
        self.buf = [NAN] * window_size
        self.size = window_size
        self.n = 0  # values in the window
        self.i = 0  # next slot
        self.every = send_every
        self.at = send_every - send_first_at

    def _push(self, x):
        """Add ``x``; True when a result is due."""
        i = self.i
        self.buf[i] = x
        i += 1
        self.i = 0 if i == self.size else i
        if self.n < self.size:
            self.n += 1
        at = self.at + 1
        if at < self.every:
            self.at = at
            return False
        self.at = 0
        return True


class sliding_window_moving_average(_Window):
    """Mean of the last ``window_size`` values that are not NaN."""

    def __init__(self, window_size=15, send_every=15, send_first_at=1):
        super().__init__(window_size, send_every, send_first_at)

    def __call__(self, x):
        if not self._push(x):
            return None
        buf = self.buf
        total = 0
        count = 0
        for k in range(self.n):
            v = buf[k]
            if v == v:
                total += v
                count += 1
        return total / count if count else NAN


class _Extreme(_Window):
    def __init__(self, window_size=5, send_every=5, send_first_at=1):
        super().__init__(window_size, send_every, send_first_at)

    def __call__(self, x):
        if not self._push(x):
            return None
        buf = self.buf
        best = NAN
        for k in range(self.n):
            v = buf[k]
            if v == v and (best != best or self._better(v, best)):
                best = v
        return best


class min(_Extreme):
    """Smallest of the last ``window_size`` values that are not NaN."""

    @staticmethod
    def _better(v, best):
        return v < best


class max(_Extreme):
    """Largest of the last ``window_size`` values that are not NaN."""

    @staticmethod
    def _better(v, best):
        return v > best


class _Sorted(_Window):
    def __init__(self, window_size, send_every, send_first_at):
        super().__init__(window_size, send_every, send_first_at)
        self.sorted = [NAN] * window_size

    def _sort(self):
        """Insertion-sort the window's non-NaN values into the scratch; return how many."""
        buf = self.buf
        s = self.sorted
        m = 0
        for k in range(self.n):
            v = buf[k]
            if v != v:
                continue
            j = m
            while j > 0 and s[j - 1] > v:
                s[j] = s[j - 1]
                j -= 1
            s[j] = v
            m += 1
        return m


class median(_Sorted):
    """Median of the last ``window_size`` values that are not NaN (an even count
    averages the middle two)."""

    def __init__(self, window_size=5, send_every=5, send_first_at=1):
        super().__init__(window_size, send_every, send_first_at)

    def __call__(self, x):
        if not self._push(x):
            return None
        m = self._sort()
        if m == 0:
            return NAN
        s = self.sorted
        h = m // 2
        return s[h] if m % 2 else (s[h - 1] + s[h]) / 2


class quantile(_Sorted):
    """The ``quantile`` (0 to 1) of the last ``window_size`` values that are not NaN:
    the value at sorted position ceil(count * quantile) - 1 (positions precomputed for
    every count, so no float arithmetic per record)."""

    def __init__(self, window_size=5, send_every=5, send_first_at=1, quantile=0.9):
        if not 0 <= quantile <= 1:
            raise ValueError("quantile must be from 0 to 1")
        super().__init__(window_size, send_every, send_first_at)
        self.q = quantile
        pos = [0] * (window_size + 1)
        for m in range(1, window_size + 1):
            p = int(m * quantile)
            p = p - 1 if p == m * quantile else p  # ceil(m * q) - 1
            pos[m] = p if p > 0 else 0
        self.pos = pos

    def __call__(self, x):
        if not self._push(x):
            return None
        m = self._sort()
        return self.sorted[self.pos[m]] if m else NAN


class exponential_moving_average:
    """``alpha * x + (1 - alpha) * average``, starting at the first value. A NaN value
    leaves the average as it was and, when a result is due, sends NaN."""

    accumulates = True  # rill.lineage: see _Window

    def __init__(self, alpha=0.1, send_every=15, send_first_at=1):
        if send_every < 1 or not 1 <= send_first_at <= send_every:
            raise ValueError("send_every must be at least 1, send_first_at from 1 to send_every")
        self.alpha = alpha
        self.beta = 1 - alpha
        self.value = None
        self.every = send_every
        self.at = send_every - send_first_at

    def __call__(self, x):
        if x == x:
            v = self.value
            self.value = x if v is None else self.alpha * x + self.beta * v
        at = self.at + 1
        if at < self.every:
            self.at = at
            return None
        self.at = 0
        return self.value if x == x else x
