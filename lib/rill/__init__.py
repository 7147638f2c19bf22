"""rill: reactive sensor pipelines for MicroPython.

Records live in fixed buffers; sources push, transforms fire on their inputs, taps
observe. See docs/writing-an-app.md for the concepts.

Declaring a pipeline: records, sources, transforms and taps, wired by record key.

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

(The declaration lives here, in the package itself: a module of its own would cost
every board about 200 B more heap, make bench's core_import_bytes.)
"""
try:  # the seam, as in MicroPython's own asyncio
    import micropython
except ImportError:
    from . import cpython_compat  # noqa: F401, I001  (makes CPython look like MicroPython)
    import micropython  # (the shim's)

from .buffers import BLOCK, DROP, EMPTY, ERROR, DeadLetters, Latest, Ring, _Buffer  # noqa: F401

__version__ = "0.1.0"
__all__ = ("BLOCK", "DROP", "EMPTY", "ERROR", "DeadLetters", "Latest", "Ring", "GraphError", "Pipeline")


class GraphError(Exception):
    """Every problem build() found; ``.errors`` lists them, one per edge."""


class Node:
    """A source, transform or tap: what was declared, the counters, and (once built)
    its wiring. Every attribute is declared here, with its default; an instance stores
    only those its kind uses, set when declared or built, so that counting later
    allocates nothing and a node stays small. (No properties: one on the class would
    slow every attribute store on its instances, the counters included.)"""

    # every node
    inputs = ()  # the records a transform reads, or a tap's one
    watch = ()
    type = None  # what a source emits, or what a transform/tap takes
    runs = 0  # taps: records handed over (a source's count is its record's: produced, and dropped if refused)
    errors = 0
    error = None  # the last error, kept as raised: formatting would allocate (stats() has it as text)
    graph = None  # set by Graph
    out_rec = None  # the buffer of ``out``, set by Graph
    plan = ()  # what a write to ``out`` runs: (node, trigger mask) pairs (rill.check)
    dispatch = None  # a source's dispatch once built (rill.wiring): what push and emit run
    # transforms
    filtered = 0  # calls that returned None
    depth = 0  # 1 + the greatest depth of the inputs, set by build
    # sources
    every_ms = None
    is_task = False
    missing = None
    backoff = None  # a Backoff, for sources that run a callable
    restarts = 0
    overruns = 0
    requires = None
    # taps, set by Graph
    reader = None  # the cursor on the record
    signal = None  # woken when the record is written

    def __init__(self, kind, name, fn, out, inputs=(), watch=(), type=None):
        self.kind = kind
        self.name = name  # None: the callable's name, given by build()
        self.fn = fn
        self.out = out
        if inputs:
            self.inputs = inputs
        if watch:
            self.watch = (watch,) if isinstance(watch, str) else tuple(watch)
        if type is not None:
            self.type = type
        self.runs = self.errors = 0  # the counters, stored now: counting then allocates nothing
        self.error = None

    def fail(self, value, error):
        """This node's failure, counted by its graph: what a step table's function calls
        (rill.dispatch, the host-built module), bound before the graph exists."""
        self.graph.fail(self, value, error)

    @micropython.native
    def __call__(self, value):
        """A source node is the ``emit`` its task receives: write the record and dispatch,
        as ``graph.push`` does, through the same dispatch (and rill.io.recorder's ``intercept``)."""
        self.graph._writers[self.out](value)

    async def wait(self, value):
        """``await emit.wait(value)``: like ``emit(value)``, but first wait for room in a
        full queue (backpressure)."""
        rec = self.out_rec
        if rec.policy is not None and rec.full():  # only a Queue is ever full
            await rec.room()
        self(value)


class Pipeline:
    graph = None  # the Graph that build() made

    def __init__(self, name="pipeline", dead_letters=8):
        self.name = name
        self.dead_letters = dead_letters
        self.records = {}
        self.keys = []  # declaration order (MicroPython dicts are unordered)
        self.nodes = []

    def record(self, key, type=object, buffer=None):
        """Declare record ``key`` of ``type`` (a class, or a shape dict {field: type}),
        stored in ``buffer`` (default ``Latest()``). The buffer is the record from then on:
        ``graph.records[key]`` is it, ``.value`` its newest value."""
        if buffer is None:
            buffer = Latest()
        elif not isinstance(buffer, _Buffer) or buffer.kind is None:  # (a reader is not a buffer)
            from .check import refusal  # (its text costs the core no heap)

            raise refusal(1, key, buffer)
        buffer.key = key
        buffer.type = type
        self.keys.append(key)
        self.records[key] = buffer
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
        node = Node("source", name, read or task, key, type=emits)
        # only what differs from Node's defaults is stored: a node's attributes fit a
        # small table, never regrown while build() wires it (on a small heap)
        if every_ms is not None:
            node.every_ms = every_ms
        if task is not None:
            node.is_task = True
        if missing is not None:
            node.missing = missing
        if node.fn is not None:  # only sources that run a callable retry, so only they load Backoff
            from .backoff import Backoff

            node.backoff = Backoff(backoff_ms[0], backoff_ms[1], False)  # no jitter: a predictable schedule
            node.restarts = node.overruns = 0  # counted by their tasks
        if requires is not None:
            node.requires = requires
        self.nodes.append(node)
        return self

    def transform(self, key, fn, *inputs, watch=(), takes=None, name=None):
        """Run ``fn(*inputs, *watch)`` when any of ``inputs`` is written; its result
        (unless None) is written to ``key``. ``watch`` records are read, not triggers."""
        node = Node("transform", name, fn, key, inputs, watch, takes)
        node.filtered = node.depth = 0
        self.nodes.append(node)
        return self

    def tap(self, key, fn, takes=None, name=None):
        """Observe ``key``: ``fn(value)`` runs in its own task, reading the record's buffer."""
        self.nodes.append(Node("tap", name, fn, None, (key,), (), takes))
        return self

    def build(self, board=None, lineage=False, dispatch=None):
        """Validate everything, order the dispatch, and return a runnable Graph.

        Raises GraphError listing every problem. A ``board`` (rill.board) lets it refuse
        parts the board cannot run, such as MQTT on a board without networking.
        ``lineage=True`` has every value carry the source records it came from
        (rill.lineage). ``dispatch``: None uses the host-built ``rill_dispatch_<name>``
        module when it matches this graph (``rill build --app``), else the reference
        interpreter; False always the reference; or a module to use (rill.wiring).
        A pipeline builds once: its buffers become the graph's records."""
        import gc

        gc.collect()  # room for the checks, on a small heap
        from .check import validate  # which unloads rill.check: no heap while the pipeline runs

        error = validate(self, board, GraphError)
        del validate
        gc.collect()
        if error:
            raise error
        from .wiring import wire  # after the checks are gone, before the graph: a small heap holds one at a time

        wired = wire(self, lineage, dispatch)  # which unloads rill.wiring
        del wire
        gc.collect()
        from .graph import Graph

        self.graph = Graph(self, wired)
        return self.graph


def __getattr__(name):
    """Queue, Mailbox and QueueFull (the capitalised names) load on first use from
    rill.queues: a board that uses none pays no heap for them. Any other name is a
    submodule, imported as ``from rill import board`` asks (MicroPython looks here
    before it imports one). A private name is never a submodule: tools probe for
    dunders (``__wrapped__``)."""
    if name[0] == "_":
        raise AttributeError(name)
    if name[0] < "a":
        return getattr(__import__("rill.queues", None, None, (name,)), name)
    return __import__("rill." + name, None, None, (name,))
