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
    """Every problem build() found; ``.errors`` lists them, one per edge."""


class Node:
    """A source, transform or tap, and its counters."""

    def __init__(self, kind, name, fn, out, inputs=(), watch=(), typ=None):
        self.kind = kind
        self.name = name or getattr(fn, "__name__", None) or (type(fn).__name__ if fn else "push")
        self.fn = fn
        self.out = out
        self.inputs = inputs
        self.watch = (watch,) if isinstance(watch, str) else tuple(watch)
        self.type = typ  # what a source emits, or what a transform/tap takes
        self.runs = 0  # sources: values emitted; taps: records handed over
        self.errors = 0
        self.last_error = None

    def __call__(self, value):
        """A source node is the ``emit`` its task receives: write the record and dispatch."""
        self.runs = (self.runs + 1) & 0x3FFFFFFF
        self.graph.emit(self.out_rec, value)

    async def wait(self, value):
        """``await emit.wait(value)``: like ``emit(value)``, but first wait for room in a
        full queue (backpressure)."""
        rec = self.out_rec
        while rec.kind == "queue" and rec.full():
            await rec.room()
        self(value)


class Pipeline:
    def __init__(self, name="pipeline", dead_letters=8):
        self.name = name
        self.dead_letters = dead_letters
        self._records = {}
        self._keys = []  # declaration order (MicroPython dicts are unordered)
        self._nodes = []

    def record(self, key, type=object, buffer=None):
        """Declare record ``key`` of ``type`` (a class, or a shape dict {field: type}),
        stored in ``buffer`` (default ``Latest()``). The buffer is the record from then on:
        ``graph.records[key]`` is it, ``.value`` its newest value."""
        buffer = buffer or Latest()
        buffer.key = key
        buffer.type = type
        self._keys.append(key)
        self._records[key] = buffer
        return self

    def source(self, key, read=None, every_ms=None, task=None, emits=None, missing=None,
               backoff_ms=(100, 30000), name=None, requires=None):
        """Push records into ``key``.

        - ``read`` + ``every_ms``: sampled on absolute deadlines; ``read()`` returns a
          value or None for nothing. A raise counts a failure, emits ``missing`` (if
          not None) and retries with exponential backoff.
        - ``task``: ``async def task(emit)`` runs as a task; a raise restarts it with backoff.
        - neither: values arrive from outside through ``graph.push(key, value)``.

        ``requires`` names a board capability (such as "network") that build(board=...)
        checks, so a board without it fails at build time, not late.
        """
        node = Node("source", name, read or task, key, typ=emits)
        node.every_ms = every_ms
        node.is_task = task is not None
        node.missing = missing
        node.backoff_ms = backoff_ms
        node.restarts = node.overruns = 0
        node.requires = requires
        self._nodes.append(node)
        return self

    def transform(self, key, fn, *inputs, watch=(), takes=None, name=None):
        """Run ``fn(*inputs, *watch)`` when any of ``inputs`` is written; its result
        (unless None) is written to ``key``. ``watch`` records are read, not triggers."""
        node = Node("transform", name, fn, key, inputs, watch, takes)
        node.depth = 0
        node.filtered = 0  # calls that returned None
        self._nodes.append(node)
        return self

    def tap(self, key, fn, takes=None, name=None):
        """Observe ``key``: ``fn(value)`` runs in its own task, reading the record's buffer."""
        self._nodes.append(Node("tap", name, fn, None, (key,), (), takes))
        return self

    def build(self, board=None):
        """Validate everything, order the dispatch, and return a runnable Graph.

        Raises GraphError listing every problem. A ``board`` (rill.board) lets it refuse
        parts the board cannot run, such as MQTT on a board without networking."""
        import gc
        import sys

        gc.collect()  # room for the checks, on a small heap
        from . import check

        try:
            error = check.validate(self, board, GraphError)
        finally:  # unload the checks: they cost no heap while the pipeline runs
            del check
            pkg = sys.modules["rill"]
            for name in ("check", "shapes"):
                sys.modules.pop("rill." + name, None)
                if hasattr(pkg, name):
                    delattr(pkg, name)
            gc.collect()
        if error:
            raise error
        from .runtime import Graph

        return Graph(self)
