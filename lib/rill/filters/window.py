"""The sliding window moving average, and the window the order statistics (median,
quantile, min, max: rill.filters.order) share.

``window_size`` values are kept in a list preallocated at construction; with
``send_every`` the result goes out every that many values, the first one after
``send_first_at`` values (ESPHome's counting). NaN values sit in the window but are left
out of the result; a window of only NaN gives NaN.

Heap: one list slot per window value, plus the values themselves where they are floats.
Nothing per record with small-int values, except that a mean is a new float. Loading
this module alone (what an app using the average pays) is about 1 KB.
"""
NAN = float("nan")


class _Window:
    lineage_kind = "window"  # rill.lineage_ops: a result names the values in the window

    def __init__(self, window_size=15, send_every=15, send_first_at=1):  # the average's defaults
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
    """Mean of the last ``window_size`` (default 15) values that are not NaN, every
    ``send_every`` (default 15) values."""

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
