"""Build-time checks and dispatch plans for Pipeline.build().

build() imports this module, uses it once and unloads it, so none of its code stays
in the heap while the pipeline runs.
"""
import sys

from micropython import const

from .shapes import accepts, type_name

_MAX_STEPS = const(30)  # a write and the transforms downstream: the bits of a small int, in dispatch


def validate(pipeline, board, GraphError):
    """Return a GraphError naming every problem in the declaration, each by its edge,
    or None, with each node's ``name``, each transform's ``depth`` and each writer's
    (rill.wiring.writers: a source, a transform with timers) ``plan`` set. Unloads
    this module and rill.shapes before it returns (the caller drops its reference),
    so they cost no heap while the pipeline runs. (In small functions: a small heap
    has room for small pieces of bytecode.)"""
    try:
        return _validate(pipeline, board, GraphError)
    finally:
        _unload()


def _unload():
    pkg = sys.modules["rill"]
    for name in ("check", "shapes"):
        sys.modules.pop("rill." + name, None)
        pkg.__dict__.pop(name, None)


def refusal(what, key, buffer=None):
    """The exception a core module raises for a misuse found outside build(), its text
    here so that it costs the core no heap: 0, ``graph.push`` to ``key``, which no
    source declared; 1, ``p.record(key, type, buffer)`` with a ``buffer`` that is not
    one; 2, a buffer made with capacity ``key`` < 1. Unloads this module again."""
    _unload()
    if what == 2:
        return ValueError("a buffer's capacity must be at least 1, not %r" % (key,))
    if what:
        return TypeError("record %r: the third argument is its buffer, such as Ring(8), not %r" % (key, buffer))
    return ValueError("push(%r): push only to a record that a source declared with p.source(key)" % key)


def _validate(pipeline, board, GraphError):
    if pipeline.graph is not None:
        return GraphError("pipeline %s: already built; its buffers belong to that graph, "
                          "so declare a new Pipeline for a second graph" % pipeline.name)
    errors = []
    for node in pipeline.nodes:
        if node.name is None:
            node.name = _name(node.fn)
    nodes = pipeline.nodes
    _declared(pipeline, board, errors)
    writers = _writers(pipeline, errors)
    _readers(pipeline, writers, errors)
    errors.extend(_order(nodes, writers))
    if not errors:
        for node in writers.values():
            if node.kind != "source" and not hasattr(node.fn, "bind"):
                continue  # not a writer of its own (rill.wiring.writers); within its source's plan
            node.plan = plan(node, nodes)
            if len(node.plan) > _MAX_STEPS:
                errors.append("record %r: %d transforms downstream; a write dispatches at most %d"
                              % (node.out, len(node.plan) - 1, _MAX_STEPS - 1))
    if errors:
        e = GraphError("%d problem(s) in pipeline:\n  - %s" % (len(errors), "\n  - ".join(errors)))
        e.errors = errors
        return e
    return None


def _name(fn):
    """A callable's name, the same on CPython and MicroPython: a function or bound method
    by its function's name, an instance by its class; a builtin (which has no name on
    MicroPython) is "builtin"."""
    if fn is None:
        return "push"
    kind = type(fn).__name__
    if kind in ("function", "bound_method", "builtin_function_or_method", "method-wrapper"):
        name = getattr(fn, "__name__", None)
        return name if name and kind != "builtin_function_or_method" else "builtin"
    return getattr(fn, "__name__", None) or kind


def _declared(pipeline, board, errors):
    records = pipeline.records
    seen = []
    for key in pipeline.keys:
        if key in seen:
            errors.append("record %r: declared twice" % key)
        seen.append(key)
        if records[key].key != key:
            errors.append("record %r: its buffer also stores record %r; give each record its own"
                          % (key, records[key].key))
    for node in pipeline.nodes:
        if node.kind == "source" and node.fn is not None and not node.is_task and not node.every_ms:
            errors.append("source %s -> %s: read= needs every_ms=" % (node.name, node.out))
        if node.kind == "transform" and not node.inputs:
            errors.append("transform %s -> %s: needs at least one input" % (node.name, node.out))
        if board is not None:
            need = node.requires or getattr(node.fn, "requires", None)
            if need and not board.has(need):
                errors.append("%s %s: needs %s, which board %s does not have"
                              % (node.kind, node.name, need, board.name))


def _writers(pipeline, errors):
    """Each written record's one writer, by key."""
    records = pipeline.records
    writers = {}
    for node in pipeline.nodes:
        if node.out is None:
            continue
        rec = records.get(node.out)
        edge = "%s %s -> %s" % (node.kind, node.name, node.out)
        if rec is None:
            errors.append("%s: unknown record %r" % (edge, node.out))
            continue
        if node.out in writers:
            w = writers[node.out]
            errors.append("%s: record %r already written by %s %s" % (edge, node.out, w.kind, w.name))
            continue
        writers[node.out] = node
        if node.kind == "source" and not accepts(rec.type, node.type):
            errors.append("%s: emits %s but record %r is %s"
                          % (edge, type_name(node.type), node.out, type_name(rec.type)))
    return writers


def _readers(pipeline, writers, errors):
    records = pipeline.records
    readers = {}
    for node in pipeline.nodes:
        takes = node.type if node.kind != "source" else None
        for i, key in enumerate(node.inputs + node.watch):
            edge = "%s -> %s %s" % (key, node.kind, node.name)
            rec = records.get(key)
            if rec is None:
                errors.append("%s: unknown record %r" % (edge, key))
                continue
            if key not in writers:
                errors.append("%s: nothing produces %r" % (edge, key))
            want = takes[i] if isinstance(takes, tuple) else (takes if i == 0 else None)
            if not accepts(want, rec.type):
                errors.append("%s: takes %s but record %r is %s" % (edge, type_name(want), key, type_name(rec.type)))
            if node.kind == "tap":
                readers.setdefault(key, []).append(node)
    for key, taps in readers.items():
        buf = records[key]
        if len(taps) > 1 and buf.kind in ("queue", "mailbox"):
            errors.append("%s: %s %r is read by %d taps (%s); a read takes the value, so use a Ring for several readers"
                          % (key, buf.kind, key, len(taps), ", ".join(t.name for t in taps)))


def _order(nodes, writers):
    """Give each transform depth = 1 + the greatest depth of its inputs; report cycles."""
    transforms = [n for n in nodes if n.kind == "transform"]
    state = {}  # node -> 1 visiting, 2 done
    errors = []

    def visit(node, path):
        s = state.get(node)
        if s == 2:
            return node.depth
        if s == 1:
            cycle = path[path.index(node):] + [node]
            errors.append("cycle: " + " -> ".join("%s(%s)" % (n.name, n.out) for n in cycle))
            return 0
        state[node] = 1
        depth = 0
        for key in node.inputs + node.watch:
            w = writers.get(key)
            if w is not None and w.kind == "transform":
                depth = max(depth, visit(w, path + [node]))
        node.depth = depth + 1
        state[node] = 2
        return node.depth

    for n in transforms:
        visit(n, [])
    return errors


def _downstream(key, nodes):
    """The transforms reachable from record ``key`` through trigger inputs, in (depth,
    declaration) order."""
    found = []
    frontier = [key]
    while frontier:
        k = frontier.pop()
        for n in nodes:
            if n.kind == "transform" and k in n.inputs and n not in found:
                found.append(n)
                frontier.append(n.out)
    order = {}
    for i, n in enumerate(nodes):
        order[n] = i
    found.sort(key=lambda n: (n.depth, order[n]))
    return found


def plan(node, nodes):
    """What dispatch runs when ``node`` writes its record: the write, then the
    transforms downstream, as (node, trigger mask) pairs; step i's bit is 1 << i.
    Graph turns them into dispatch steps (described beside ``Graph.push``)."""
    steps = [(node, 0)]
    bits = {node.out: 1}
    for i, n in enumerate(_downstream(node.out, nodes)):
        trig = 0
        for k in n.inputs:
            trig |= bits.get(k, 0)
        bits[n.out] = 1 << (i + 1)
        steps.append((n, trig))
    return steps
