"""Causal lineage: which source records each value came from. Off unless asked for:

    g = p.build(lineage=True)
    g.lineage.origin("smooth")   # {"raw": [41, 45]}: the newest "smooth" came from raw #41..#45

A source record is named by its source's record key and its sequence number there:
the record's ``produced`` count once written (1 for the first, wrapping at 2**30 as
every counter does). Every value carries, per source, the span ``[first, last]`` of
the source records it was computed from. A transform's callable without state names
what it read in the call that returned the value (inputs and watched): a diamond
names the one source record both branches came from; a join (``latest``, a function
of several records) the newest record of each input; two records of one source
reaching a value (a diamond where one branch did not fire this time) give a span of
both. A filter with state names what that state held, kept alongside it by
rill.lineage_ops (loaded only when a pipeline has one): a window (sliding, median,
min, max, quantile) the values in it, ``zip_seq`` the values it paired, ``tumbling``
and ``throttle_average`` the values of the window or period, an exponential average
every value since its first, heartbeat, debounce and timeout the value they hold (a
timeout's NaN: the last value before the silence); inside ``chain`` and ``or_`` each
filter takes the origin the one before it sent. A span may include records a filter
upstream dropped (only its ends are certainly used). host_tests/lib/
test_lineage_reference.py and test_lineage_timed.py check each kind against a
brute-force reference (lineage_ref.py).

Cost: off, nothing: the compiled dispatch has no lineage code and no buffer has
origins. On, each buffer holds 2 small ints per source per slot (a list, allocated at
build()), each transform an accumulator as big (a filter with state: one per value
it holds), and each write and read in dispatch
calls these helpers: a fixed cost per record, allocating nothing (test_lineage.py
proves it under heap_lock; ``make bench``: lineage_cost_ratio). Taps read one record
at a time, so that ``current()`` can name the record being handed over (the MQTT
bridge puts it in the envelope: ``"o"``).
"""
import micropython

from .buffers import EMPTY


@micropython.native
def newest(buf):
    """The slot of ``buf``'s newest value."""
    kind = buf.kind
    if kind == "ring":
        h = buf._head
        return (h if h else buf.capacity) - 1
    if kind == "queue" or kind == "mailbox":
        return (buf._head + buf._count - 1) % buf.capacity
    return 0


@micropython.native
def wrote(buf, s, n):
    """A source wrote ``buf``: its newest slot comes from source ``s`` (of ``n``) only."""
    o = buf.origin
    base = newest(buf) * n * 2
    for j in range(base, base + 2 * n):
        o[j] = -1
    seq = buf.produced
    o[base + 2 * s] = seq
    o[base + 2 * s + 1] = seq


@micropython.native
@micropython.native
def take(acc, buf, n, widen):
    """The accumulator ``acc`` takes the origin of ``buf``'s newest value: in place of
    what it held, or (``widen``) as well. (rill.lineage_ops's merge, its loops inlined: once per input per record.)"""
    o = buf.origin
    base = newest(buf) * n * 2
    if not widen:
        for j in range(2 * n):
            acc[j] = o[base + j]
        return
    for j in range(0, 2 * n, 2):
        lo = o[base + j]
        if lo >= 0:
            if acc[j] < 0 or lo < acc[j]:
                acc[j] = lo
            hi = o[base + j + 1]
            if hi > acc[j + 1]:
                acc[j + 1] = hi


@micropython.native
def give(acc, buf, n):
    """A transform wrote ``buf``: its newest slot gets ``acc``."""
    o = buf.origin
    base = newest(buf) * n * 2
    for j in range(2 * n):
        o[base + j] = acc[j]


class Lineage:
    """``graph.lineage`` when built with ``lineage=True``."""

    def __init__(self, graph):
        self.sources = [s.out for s in graph.sources]  # index -> record key
        self._records = graph.records
        n = len(self.sources)
        for buf in graph.records.values():
            slots = 1 if buf.kind == "latest" else buf.capacity
            buf.origin = [-1] * (slots * 2 * n)
        self.acc = {}  # transform node -> its accumulator
        self.call = {}  # transform node -> what dispatch calls in place of a filter with state
        for node in graph.nodes:
            if node.kind == "transform":
                self.acc[node] = acc = [-1] * (2 * n)
                if hasattr(node.fn, "lineage_kind"):
                    from .lineage_ops import adapt

                    self.call[node] = adapt(node.fn, acc, n, newest)
        self._buf = None
        self._slot = 0

    def _dict(self, buf, slot):
        o = buf.origin
        n = len(self.sources)
        base = slot * n * 2
        out = {}
        for s in range(n):
            if o[base + 2 * s] >= 0:
                out[self.sources[s]] = [o[base + 2 * s], o[base + 2 * s + 1]]
        return out

    def origin(self, key):
        """The origin of record ``key``'s newest value: {source record key: [first, last]}."""
        buf = self._records[key]
        return self._dict(buf, newest(buf))

    def current(self):
        """Inside a tap: the origin of the record being handed to it (None elsewhere)."""
        if self._buf is None:
            return None
        return self._dict(self._buf, self._slot)

    def drain(self, reader, buf, fn, fail, who):
        """A tap's drain, one record at a time, with ``current()`` naming each."""
        n = 0
        while True:
            value = reader.read()
            if value is EMPTY:
                self._buf = None
                return n
            n += 1
            self._buf = buf
            self._slot = _last_read(reader, buf)
            try:
                fn(value)
            except Exception as e:
                fail(who, value, e)


def _last_read(reader, buf):
    kind = buf.kind
    if kind == "ring":
        p = reader._pos
        return (p if p else buf.capacity) - 1
    if kind == "queue" or kind == "mailbox":
        h = buf._head
        return (h if h else buf.capacity) - 1
    return 0
