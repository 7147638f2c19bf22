"""The exponential moving average: no window, the same send_every/send_first_at
counting as rill.filters.window. Heap: a few attributes; a result is a new float."""


class exponential_moving_average:
    """``alpha * x + (1 - alpha) * average``, starting at the first value. A NaN value
    leaves the average as it was and, when a result is due, sends NaN."""

    lineage_kind = "all"  # rill.lineage_ops: a result names every value since the first

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
