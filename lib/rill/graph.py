"""Declaring a pipeline: records, sources, transforms and taps, wired by record key.

    p = Pipeline("greenhouse")
    p.record("raw", int)
    p.record("celsius", float, Ring(32))
    p.source("raw", adc.read_u16, every_ms=1000)
    p.transform("celsius", to_celsius, "raw")
    p.tap("celsius", print)
    graph = p.build()

``build()`` checks the whole declaration and raises one GraphError listing every
problem, each naming the edge: unknown keys, type mismatches, two writers for one
record, cycles, inputs that nothing produces.
"""
from .buffers import Latest


class GraphError(Exception):
    def __init__(self, errors):
        self.errors = errors
        super().__init__("%d problem(s) in pipeline:\n  - %s" % (len(errors), "\n  - ".join(errors)))


def type_name(t):
    if isinstance(t, dict):
        return "{" + ", ".join("%s: %s" % (k, type_name(t[k])) for k in sorted(t)) + "}"
    return getattr(t, "__name__", str(t))


def accepts(want, have):
    """Can a consumer expecting ``want`` take records of type ``have``?"""
    if want is None or have is None or want is object or want == have:
        return True
    if want is float and have is int:
        return True
    if isinstance(want, dict) and isinstance(have, dict):
        for field in want:
            if field not in have or not accepts(want[field], have[field]):
                return False
        return True
    return False


def conforms(value, spec):
    """Does ``value`` have type or shape ``spec``? Used where data enters from outside."""
    if spec is None or spec is object:
        return True
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return False
        for field in spec:
            if field not in value or not conforms(value[field], spec[field]):
                return False
        return True
    if spec is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, spec)


class Record:
    """A declared key: its type, its buffer, and the latest value seen in dispatch."""

    def __init__(self, key, type, buffer):
        self.key = key
        self.type = type
        self.buffer = buffer
        self.value = None
        self.stamp = -1  # dispatch cycle of the last write
        self.writer = None
        self.plan = ()  # transforms to run, in depth order, when this record is written
        self.signals = ()  # taps to wake


class Node:
    """A source, transform or tap, and its counters."""

    def __init__(self, kind, name, out, fn, inputs, watch, type):
        self.kind = kind
        self.name = name
        self.out = out
        self.fn = fn
        self.inputs = inputs
        self.watch = watch
        self.type = type  # what a source emits, or what a transform/tap takes
        self.depth = 0
        self.runs = 0
        self.errors = 0
        self.last_error = None

    def stats(self):
        d = {"kind": self.kind, "runs": self.runs, "errors": self.errors}
        if self.last_error:
            d["last_error"] = self.last_error
        return d


def _name(fn, default):
    return getattr(fn, "__name__", None) or getattr(type(fn), "__name__", default)


class Pipeline:
    def __init__(self, name="pipeline", dead_letters=8):
        self.name = name
        self.dead_letters = dead_letters
        self._records = {}
        self._keys = []  # declaration order (MicroPython dicts are unordered)
        self._nodes = []
        self._errors = []

    def record(self, key, type=object, buffer=None):
        """Declare record ``key`` of ``type`` (a class, or a shape dict {field: type}),
        stored in ``buffer`` (default ``Latest()``)."""
        if key in self._records:
            self._errors.append("record %r: declared twice" % key)
        else:
            self._keys.append(key)
        self._records[key] = Record(key, type, buffer if buffer is not None else Latest())
        return self

    def source(self, key, read=None, every_ms=None, task=None, emits=None, missing=None,
               backoff_ms=(100, 30000), name=None):
        """Push records into ``key``.

        - ``read`` + ``every_ms``: sampled on absolute deadlines; ``read()`` returns a
          value or None for nothing. A raise counts a failure, emits ``missing`` (if
          not None) and retries with exponential backoff.
        - ``task``: ``async def task(emit)`` runs as a task; a raise restarts it with backoff.
        - neither: values arrive from outside through ``graph.push(key, value)``.
        """
        if read is not None and not every_ms:
            self._errors.append("source %s -> %s: read= needs every_ms=" % (name or _name(read, "read"), key))
        fn = read if read is not None else task
        node = Node("source", name or (_name(fn, "source") if fn else "push"), key, fn, (), (), emits)
        node.every_ms = every_ms
        node.is_task = task is not None
        node.missing = missing
        node.backoff_ms = backoff_ms
        node.failures = 0
        node.restarts = 0
        node.overruns = 0
        self._nodes.append(node)
        return self

    def transform(self, key, fn, *inputs, watch=(), takes=None, name=None):
        """Run ``fn(*inputs, *watch)`` when any of ``inputs`` is written; its result
        (unless None) is written to ``key``. ``watch`` records are read, not triggers."""
        if not inputs:
            self._errors.append("transform %s -> %s: needs at least one input" % (name or _name(fn, "fn"), key))
        if isinstance(watch, str):
            watch = (watch,)
        self._nodes.append(Node("transform", name or _name(fn, "transform"), key, fn, tuple(inputs), tuple(watch), takes))
        return self

    def tap(self, key, fn, takes=None, name=None):
        """Observe ``key``: ``fn(value)`` runs in its own task, reading the record's buffer."""
        self._nodes.append(Node("tap", name or _name(fn, "tap"), None, fn, (key,), (), takes))
        return self

    def build(self, board=None):
        """Validate everything, resolve keys to records, order the dispatch; return a Graph."""
        from .runtime import Graph

        errors = list(self._errors)
        records = self._records
        if board is not None:
            for node in self._nodes:
                need = getattr(node.fn, "requires", None)
                if need and not board.has(need):
                    errors.append("%s %s: needs %s, which board %s does not have" % (node.kind, node.name, need, board.name))
        writers = {}
        for node in self._nodes:
            if node.out is None:
                continue
            rec = records.get(node.out)
            edge = "%s %s -> %s" % (node.kind, node.name, node.out)
            if rec is None:
                errors.append("%s: unknown record %r" % (edge, node.out))
                continue
            if node.out in writers:
                errors.append("%s: record %r already written by %s %s" % (edge, node.out, writers[node.out].kind, writers[node.out].name))
                continue
            writers[node.out] = node
            rec.writer = node
            if node.kind == "source" and not accepts(rec.type, node.type):
                errors.append("%s: emits %s but record %r is %s" % (edge, type_name(node.type), node.out, type_name(rec.type)))
        readers = {}
        for node in self._nodes:
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
            buf = records[key].buffer
            if len(taps) > 1 and buf.kind in ("queue", "mailbox"):
                errors.append("%s: %s %r is read by %d taps (%s); a read takes the value, so use a Ring for several readers"
                              % (key, buf.kind, key, len(taps), ", ".join(t.name for t in taps)))
        errors.extend(_order(self._nodes, writers))
        if errors:
            raise GraphError(errors)
        return Graph(self, records, self._nodes)


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
