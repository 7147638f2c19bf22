"""Windows and joins over one or more inputs: ``p.transform(out, fn, "a", "b")``.

- ``latest(n)``: the latest value of each of ``n`` inputs, as one list.
- ``zip_seq(n)``: the k-th value of each input, paired by each input's sequence of writes.
- ``tumbling(count=N)`` / ``tumbling(ms=T)``: every N values (of any input), or every T
  ms of pipeline time, the window's count, mean, min and max; then a new window starts.

Each emits one list or dict preallocated at construction and rewritten in place, so
nothing is allocated per record with small-int values (a mean is a new float). Keep it
in a ``Latest`` record, or copy it in a tap that stores it. zip_seq and tumbling tell
which inputs are new by the records' ``produced`` counters, so they need a pipeline.
"""
from .common import NAN


class latest:
    """The latest value of each of ``n`` (1 to 3) inputs, once all have one
    (``require_all=False``: from the first value on, None for inputs with none yet)."""

    def __init__(self, n, require_all=True):
        if not 1 <= n <= 3:
            raise ValueError("latest joins 1 to 3 inputs")
        self.out = [None] * n
        self.n = n
        self.all = require_all

    def __call__(self, a, b=None, c=None):
        out = self.out
        out[0] = a
        if self.n > 1:
            out[1] = b
            if self.n > 2:
                out[2] = c
        if self.all and None in out:
            return None
        return out


class _Inputs:
    """Which inputs are new since the last call, from their records' ``produced`` counters."""

    recs = ()

    def bind(self, graph, node):
        """With one input the argument is the new value (also inside a chain, after
        the filters before it); only several inputs need the counters."""
        if len(node.inputs) > 1:
            self.recs = tuple(graph.records[k] for k in node.inputs)
            self.seen = [r.produced for r in self.recs]

    def _fresh(self, i):
        p = self.recs[i].produced
        if p == self.seen[i]:
            return False
        self.seen[i] = p
        return True


class zip_seq(_Inputs):
    """Pair the k-th value of each of ``n`` inputs: emits ``[a_k, b_k, ...]`` once every
    input has its k-th value. Up to ``depth`` values wait per input; beyond that the
    oldest is dropped and counted in ``dropped``. It reads its inputs' records, not its
    arguments: up to 8 inputs, a call allocates nothing (more are gathered into a tuple)."""

    lineage_kind = "fifo"  # rill.lineage_ops: a result names the values it paired

    def __init__(self, n, depth=8):
        if n < 2 or depth < 1:
            raise ValueError("zip_seq pairs at least two inputs, with a depth of at least 1")
        self.q = [[None] * depth for _ in range(n)]
        self.head = [0] * n
        self.count = [0] * n
        self.depth = depth
        self.out = [None] * n
        self.dropped = 0

    def __call__(self, a=None, b=None, c=None, d=None, e=None, f=None, g=None, h=None, *more):
        ready = True
        for i in range(len(self.out)):
            if self._fresh(i):
                self._queue(i)
            if self.count[i] == 0:
                ready = False
        return self._pop() if ready else None

    def _queue(self, i):
        depth = self.depth
        c = self.count[i]
        if c == depth:  # full: the oldest goes
            self.head[i] = (self.head[i] + 1) % depth
            self.dropped += 1
            c -= 1
        self.q[i][(self.head[i] + c) % depth] = self.recs[i].value
        self.count[i] = c + 1

    def _pop(self):
        out = self.out
        for i in range(len(out)):
            h = self.head[i]
            out[i] = self.q[i][h]
            self.head[i] = (h + 1) % self.depth
            self.count[i] -= 1
        return out


class tumbling(_Inputs):
    """Aggregate every new value of the inputs (NaN left out) into ``{"count", "mean",
    "min", "max"}``, emitted every ``count`` values or every ``ms`` of pipeline time
    (a period without values emits nothing), then start afresh."""

    lineage_kind = "since"  # rill.lineage_ops: a result names the values it aggregated

    def __init__(self, count=None, ms=None):
        if (count is None) == (ms is None) or (count is not None and count < 1):
            raise ValueError("tumbling takes count (at least 1) or ms, not both")
        self.size = count
        self.ms = ms
        self.out = {"count": 0, "mean": NAN, "min": NAN, "max": NAN}
        self._reset()

    def _reset(self):
        self.n = 0
        self.sum = 0
        self.lo = self.hi = None

    def bind(self, graph, node):
        super().bind(graph, node)
        if self.ms is not None:
            from .clocked import every  # only a timed window loads the clock's plumbing

            every(graph, node, self.ms, self._emit)

    def _add(self, v):
        if v != v:
            return
        self.n += 1
        self.sum += v
        if self.lo is None or v < self.lo:
            self.lo = v
        if self.hi is None or v > self.hi:
            self.hi = v

    def _emit(self):
        n = self.n
        if n == 0:
            return None
        out = self.out
        out["count"] = n
        out["mean"] = self.sum / n
        out["min"] = self.lo
        out["max"] = self.hi
        self._reset()
        return out

    def __call__(self, a, b=None, c=None, *more):
        if self.recs:
            self._add_fresh()
        else:
            self._add(a)
        if self.size is not None and self.n >= self.size:
            return self._emit()
        return None

    def _add_fresh(self):
        recs = self.recs
        for i in range(len(recs)):
            if self._fresh(i):
                self._add(recs[i].value)
