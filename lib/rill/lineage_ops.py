"""Lineage for filters with state (rill.lineage): each keeps, beside the values it
holds, the origin of each, so that a result names exactly the records it was made of.
Loaded by rill.lineage only when a pipeline built with ``lineage=True`` has such a
filter (one with a ``lineage_kind``); the filters themselves carry no lineage code, so
a graph without lineage runs them as before.

``adapt(fn, acc, n, newest)`` gives what dispatch calls in place of the filter: an
object that calls it, reading the origin of its input from ``acc`` (the transform's
accumulator, which dispatch fills from the inputs before the call) and, when the filter
sends a value, leaving that value's origin in ``acc`` (which dispatch gives the output).
A filter that sends from a timer (``every``, ``fire``) has that method wrapped too, as
an attribute of the instance, before the graph binds it. Inside ``chain`` and ``or_``
each filter is adapted the same way: ``acc`` carries the origin from filter to filter.

The kinds: "window" (a ring of ``size`` values: the origins of the ones in it), "all"
(an exponential average: every value since the first), "since" (tumbling,
throttle_average: the values since the last result), "fifo" (zip_seq: a queue per
input, as the filter's), "held" (heartbeat, debounce, timeout: the last value), "chain",
"or". Heap: per filter, an origin (2 small ints per source) per value it holds, made
at build(); nothing per record.
"""
_newest = None  # rill.lineage's newest(buf), given to adapt(): rill.lineage imports this module


def merge(dst, d, src, s, w, widen):
    """The origin at ``dst[d:d+w]`` becomes the one at ``src[s:s+w]``: in place of what
    it was, or (``widen``) as well (each source's span covers both)."""
    if not widen:
        for j in range(w):
            dst[d + j] = src[s + j]
        return
    for j in range(0, w, 2):
        lo = src[s + j]
        if lo >= 0:
            k = d + j
            if dst[k] < 0 or lo < dst[k]:
                dst[k] = lo
            hi = src[s + j + 1]
            if hi > dst[k + 1]:
                dst[k + 1] = hi


def adapt(fn, acc, n, newest):
    """What dispatch calls in place of ``fn`` (``fn`` itself if it has no state);
    ``newest`` is rill.lineage's (passed, not imported: rill.lineage imports this module)."""
    global _newest
    _newest = newest
    kind = getattr(fn, "lineage_kind", None)
    if kind is None:
        return fn
    return _KINDS[kind](fn, acc, 2 * n)


class _Op:
    def __init__(self, f, acc, w):
        self.f = f
        self.acc = acc
        self.w = w

    def bind(self, graph, node):  # inside a chain or or_, the list binds its filters through this
        b = getattr(self.f, "bind", None)
        if b is not None:
            b(graph, node)

    def _hook(self, name):
        """Wrap the filter's method ``name`` (it sends from a timer): the value it returns
        goes out with ``self.held``'s origin."""
        self.sent = getattr(self.f, name)
        setattr(self.f, name, self._sent)

    def _sent(self):
        r = self.sent()
        if r is not None:
            self._out()
        return r


class _Window(_Op):
    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.ring = [-1] * (f.size * w)

    def __call__(self, x):
        f = self.f
        w = self.w
        ring = self.ring
        merge(ring, f.i * w, self.acc, 0, w, 0)  # the slot the value goes into
        r = f(x)
        if r is not None:
            acc = self.acc
            for k in range(f.n):  # the slots in the window, as the filter reads them
                merge(acc, 0, ring, k * w, w, k)
        return r


class _All(_Op):
    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.held = [-1] * w

    def __call__(self, x):
        merge(self.held, 0, self.acc, 0, self.w, 1)
        r = self.f(x)
        if r is not None:
            merge(self.acc, 0, self.held, 0, self.w, 0)
        return r


class _Since(_Op):
    """tumbling (its ``_emit``, also called from a timer) and throttle_average (``_flush``)."""

    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.held = [-1] * w
        self._hook("_flush" if hasattr(f, "_flush") else "_emit")

    def _out(self):
        held = self.held
        merge(self.acc, 0, held, 0, self.w, 0)
        for j in range(self.w):
            held[j] = -1

    def __call__(self, a, b=None, c=None, d=None, e=None, f=None, g=None, h=None):
        fn = self.f
        recs = getattr(fn, "recs", None)
        if recs:  # several inputs: the ones new since the last call, as tumbling tells them
            seen = fn.seen
            for i in range(len(recs)):
                buf = recs[i]
                if buf.produced != seen[i]:
                    merge(self.held, 0, buf.origin, _newest(buf) * self.w, self.w, 1)
        else:
            merge(self.held, 0, self.acc, 0, self.w, 1)
        return fn(a)  # with several inputs tumbling reads their records, not its arguments


class _Fifo(_Op):
    """zip_seq: each input's queue of origins, in the filter's own slots."""

    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.q = [-1] * (len(f.out) * f.depth * w)

    def __call__(self, a=None, b=None, c=None, d=None, e=None, f=None, g=None, h=None):
        z = self.f
        w = self.w
        depth = z.depth
        q = self.q
        for i in range(len(z.recs)):
            buf = z.recs[i]
            if buf.produced != z.seen[i]:  # zip_seq queues it: where (a full queue drops its head)
                c_ = z.count[i]
                slot = z.head[i] if c_ == depth else (z.head[i] + c_) % depth
                merge(q, (i * depth + slot) * w, buf.origin, _newest(buf) * w, w, 0)
        r = z()  # it reads its inputs' records, not its arguments
        if r is not None:
            acc = self.acc
            for i in range(len(z.recs)):  # the heads it popped
                merge(acc, 0, q, (i * depth + (z.head[i] - 1) % depth) * w, w, i)
        return r


class _Held(_Op):
    """heartbeat (``_beat``), debounce and timeout (``fire``): they send the last value."""

    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.held = [-1] * w
        self._hook("_beat" if hasattr(f, "_beat") else "fire")

    def _out(self):
        merge(self.acc, 0, self.held, 0, self.w, 0)

    def __call__(self, x):
        merge(self.held, 0, self.acc, 0, self.w, 0)
        return self.f(x)


def _chain(f, acc, w):
    """A chain runs as it is, its filters adapted."""
    f.filters = tuple(adapt(g, acc, w // 2, _newest) for g in f.filters)
    return f


class _Or(_Op):
    """Every filter takes the value's origin; the result names the first one's that sent."""

    def __init__(self, f, acc, w):
        super().__init__(f, acc, w)
        self.came = [-1] * w  # the origin of the value being handed to each filter
        self.went = [-1] * w  # the origin of the first result
        self.got = False
        f.filters = tuple(_Member(self, adapt(g, acc, w // 2, _newest)) for g in f.filters)

    def __call__(self, x):
        merge(self.came, 0, self.acc, 0, self.w, 0)
        self.got = False
        r = self.f(x)
        if r is not None:
            merge(self.acc, 0, self.went, 0, self.w, 0)
        return r


class _Member:
    def __init__(self, owner, f):
        self.owner = owner
        self.f = f

    def bind(self, graph, node):
        b = getattr(self.f, "bind", None)
        if b is not None:
            b(graph, node)

    def __call__(self, x):
        o = self.owner
        merge(o.acc, 0, o.came, 0, o.w, 0)
        r = self.f(x)
        if r is not None and not o.got:
            o.got = True
            merge(o.went, 0, o.acc, 0, o.w, 0)
        return r


_KINDS = {"window": _Window, "all": _All, "since": _Since, "fifo": _Fifo, "held": _Held, "chain": _chain,
          "or": _Or}
