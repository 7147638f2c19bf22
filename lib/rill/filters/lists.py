"""Filter lists: ``chain`` (ESPHome's ``filters:`` list) and ``or_`` (ESPHome's ``or``).

Both take filter objects or data, one ``{name: parameters}`` per filter, by ESPHome's
names: a dict of parameters is passed by keyword, anything else as the one positional
parameter (``{"median": {"window_size": 5}}``, ``{"offset": 2.0}``, ``{"throttle":
1000}``). A filter inside that sends on its own (heartbeat, timeout...) sends through
the rest of the chain, as in ESPHome.

Data is turned into filters by rill.filters.names, loaded for that and unloaded again.
Heap: a tuple of the filters, plus a small proxy per filter that binds; nothing per record.
"""


class _Tail:
    """What a filter inside a list sees as its graph: what it sends goes through
    ``owner.after(value, index)`` before reaching the real graph."""

    def __init__(self, graph, owner, index):
        self.graph = graph
        self.clock = graph.clock
        self.records = graph.records
        self.owner = owner
        self.index = index

    def spawn(self, coro):
        return self.graph.spawn(coro)

    def write(self, node, value):
        if value is not None:
            self.graph.write(node, self.owner.after(value, self.index))


class _List:
    def __init__(self, filters):
        from .names import make  # unloaded again by make

        self.filters = make(filters)

    def bind(self, graph, node):
        for i, f in enumerate(self.filters):
            if hasattr(f, "bind"):
                f.bind(_Tail(graph, self, i + 1), node)


class chain(_List):
    """Run ``filters`` in order; a None from any of them sends nothing."""

    lineage_kind = "chain"  # rill.lineage_ops: each filter takes the origin the one before sent

    def __call__(self, x):
        for f in self.filters:
            x = f(x)
            if x is None:
                return None
        return x

    def after(self, x, i):
        fs = self.filters
        n = len(fs)
        while i < n:
            x = fs[i](x)
            if x is None:
                return None
            i += 1
        return x


class or_(_List):
    """ESPHome's ``or``: every filter gets each value; the first result a filter sends
    for it passes, the others are dropped until the next value arrives."""

    lineage_kind = "or"  # rill.lineage_ops: the result names what the filter that sent it used

    sent = False

    def __call__(self, x):
        self.sent = False
        out = None
        for f in self.filters:
            v = f(x)
            if out is None:
                out = v
        if out is not None:
            self.sent = True
        return out

    def after(self, x, i):
        if self.sent:
            return None
        self.sent = True
        return x
