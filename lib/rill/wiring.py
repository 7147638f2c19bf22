"""Build-time: each writer's step table (rill.dispatch), the graph's fingerprint, and
the choice of dispatch. Pipeline.build() loads this module after the checks and
before rill.graph; it unloads itself before it returns, so none of it stays in the
heap while the pipeline runs (and a small heap holds one of them at a time).

The fast path is a module generated on the host (rill.codegen, by ``rill build --app``
or ``rill deploy``): ``rill_dispatch_<pipeline>.py``, compiled by mpy-cross for the
board, with one ``@micropython.native`` function per writer and the FINGERPRINT of the
graph it was made for. Nothing is compiled on the device. When the module is there
and its fingerprint is this graph's, its functions are bound to this graph's step
tables; when it is stale, one console line says so and the reference dispatch runs;
when it is absent, the reference dispatch runs, silently.
"""
import sys

from .buffers import Latest, Signal

_MANY = 8  # more inputs than this: the step carries a preallocated list for the call (rill.dispatch)


def ident(text):
    """``text`` as a Python identifier's tail: what is not a letter, digit or _ becomes _."""
    return "".join(c if c.isalpha() or c.isdigit() or c == "_" else "_" for c in text)


def writers(graph):
    """The nodes with a dispatch of their own, in declaration order: every source, and
    every transform with timers (``bind``: it writes through ``graph.write``)."""
    return [n for n in graph.nodes if n.kind == "source" or n.kind == "transform" and hasattr(n.fn, "bind")]


def steps(graph, node):
    """The step table (rill.dispatch) of ``node``'s writes: rill.check's (node, trigger
    mask) pairs, with their buffers, taps and lineage bookkeeping."""
    records = graph.records
    lineage = graph.lineage
    table = []
    for i, (t, trig) in enumerate(node.plan):
        out = records[t.out]
        args = (out,)
        if i:
            args = tuple(records[k] for k in t.inputs + t.watch)
        n = len(args)
        if n > _MANY:
            args += ([None] * n,)
        wake = [tap.signal for tap in graph.taps if tap.inputs[0] == t.out]
        if len(wake) > 1:
            from .fanout import Fanout

            wake = Fanout(tuple(wake))
        else:
            wake = wake[0] if wake else None
        put = None if type(out) is Latest else out.put  # exactly a Latest: stored into; any other: its put()
        lin = None
        fn = t.fn if i else None
        if lineage is not None:
            if i == 0 and t.kind == "source":
                lin = lineage.sources.index(t.out)
            else:
                lin = lineage.acc[t]
                if i:
                    fn = lineage.call.get(t, fn)  # a filter with state: rill.lineage_ops keeps its origins
        table.append((fn, n, trig, 1 << i, args, out, put, wake, t, lin))
    return tuple(table)


def _mix(h, text):
    for c in text.encode():
        h = (h * 33 ^ c) & 0xFFFFFF  # small ints on a 32-bit port too
    return h


def writer_name(node):
    """The name of a writer's function in the module: ``push_<record>`` for a source,
    ``write_<transform>`` for a transform's own writes."""
    return ("push_" + ident(node.out)) if node.kind == "source" else ("write_" + ident(node.name))


def fingerprint(graph, table):
    """A 24-bit hash of what a writer's generated code depends on: the pipeline's name,
    and per step: the node, the buffer's class and capacity, the inputs, the trigger
    mask and the lineage bookkeeping (not the taps: the code wakes those of the table).
    The same on CPython and MicroPython."""
    h = _mix(5381, graph.name)
    for _fn, n, trig, _bit, args, out, _put, _wake, node, lin in table:
        if lin is not None:
            lin = lin if type(lin) is int else 100
        h = _mix(h, "%s|%s|%s|%s|%d|%d|%d|%r" % (node.kind, node.name, out.key, type(out).__name__,
                                                  out.capacity, n, trig, lin))
        for j in range(n):
            h = _mix(h, args[j].key)
    return h


def module_name(graph):
    return "rill_dispatch_" + ident(graph.name)


def _module(name):
    try:
        mod = __import__(name)
    except ImportError:
        return None
    sys.modules.pop(name, None)  # its functions keep what they need: the rest is garbage once bound
    return mod


class Wired:
    """The graph as wiring sees it: the pipeline's records, nodes (each with the buffer
    it writes, ``out_rec``), sources and taps (each with its Signal and reader),
    lineage, each writer's dispatch and which dispatch runs. (wire() returns its
    fields: an instance would keep this module alive.)"""

    lineage = None

    def __init__(self, p):
        self.name = p.name
        self.records = p.records
        self.nodes = p.nodes
        self.sources = [n for n in p.nodes if n.kind == "source"]
        self.taps = [n for n in p.nodes if n.kind == "tap"]
        for n in p.nodes:
            n.out_rec = p.records.get(n.out)
        for n in self.taps:
            n.signal = Signal()
            n.reader = p.records[n.inputs[0]].reader()
        self._writers = {}
        self.dispatch = None


def wire(pipeline, lineage, dispatch=None):
    """Wire the validated ``pipeline`` before rill.graph loads (a small heap never holds
    this module's code and the graph's at once): (writers, dispatch, lineage,
    sources, taps) for rill.graph.Graph. ``writers``: a source's by its record's key
    (and as its node's ``dispatch``), a transform's by its node; ``dispatch``: "module" (every
    writer that runs transforms has its function from the module; one that only writes
    its record, such as an MQTT bridge's state, may run the reference: it would gain
    nothing), "reference", or "mixed" (a writer with transforms runs the reference,
    e.g. one the app adds outside ``pipeline()``).
    ``dispatch``: None looks the module up by the pipeline's name; False takes the
    reference; a module is taken as given. With ``lineage``, its
    ``lineage`` first. A transform's raise goes to Node.fail, its node's graph's
    ``fail``. Unloads this module."""
    graph = Wired(pipeline)
    try:
        L = None
        if lineage:
            from .lineage import Lineage, give, take, wrote

            graph.lineage = Lineage(graph)
            L = (wrote, take, give, len(graph.lineage.sources))
        mod = _module(module_name(graph)) if dispatch is None else dispatch
        prints = getattr(mod, "FINGERPRINT", None) or {}
        writer = None
        if not prints:  # every writer runs the reference: load it now, before the tables (a small heap)
            from .dispatch import writer
        fast = slow = stale = 0
        for node in writers(graph):
            table = steps(graph, node)
            name = writer_name(node)
            fn = None
            if name in prints:
                if prints[name] == fingerprint(graph, table):
                    fn = getattr(mod, "bind_" + name)(table, type(node).fail, L)  # Node.fail
                    fast += 1
                else:
                    stale += 1
            if fn is None:  # with a module, rill.dispatch loads only for a writer it does not cover
                if writer is None:
                    from .dispatch import writer
                fn = writer(table, type(node).fail, L)
                if len(table) > 1:
                    slow += 1  # runs transforms without its function from the module
            if node.kind == "source":
                graph._writers[node.out] = node.dispatch = fn
            else:
                graph._writers[node] = fn
        if stale:
            print("rill: pipeline %r: %s.py was built for another graph; running the reference dispatch "
                  "(rebuild with rill build)" % (graph.name, module_name(graph)))
        graph.dispatch = "mixed" if fast and slow else "module" if fast else "reference"
        return graph._writers, graph.dispatch, graph.lineage, graph.sources, graph.taps
    finally:
        pkg = sys.modules["rill"]
        sys.modules.pop("rill.wiring", None)
        pkg.__dict__.pop("wiring", None)
