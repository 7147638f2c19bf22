"""Order statistics over a window: median, quantile, min, max (counting as
rill.filters.window's sliding_window_moving_average does: ``window_size``,
``send_every``, ``send_first_at``; NaN values left out, a window of only NaN gives NaN).

Heap: one list slot per window value (median and quantile: two, for a sort scratch),
plus the values themselves where they are floats. Nothing per record with small-int
values, except that an even-sized median is a new float.
"""
from .window import NAN, _Window


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
