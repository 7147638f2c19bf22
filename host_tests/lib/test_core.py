"""The core's contracts beyond plain dispatch: the transform bind hook, clocks, build()
once, any arity up to the limit without allocating, failures that allocate nothing,
and node names that are the same on both runtimes."""
import asyncio

from rill import GraphError, Pipeline, Ring
from rill.backoff import Backoff
from rill.clock import RealClock, VirtualClock
from testkit import MICROPYTHON, heap_locked, raises, run


def test_bind_hook_gets_clock_spawn_and_write():
    class Heartbeat:
        """Passes values through, and repeats the last one every 100 ms (ESPHome's heartbeat)."""

        def __init__(self):
            self.last = None
            self.bound = None

        def bind(self, graph, node):
            self.bound = (graph.clock, node.name)
            graph.spawn(self.beat(graph, node))

        async def beat(self, graph, node):
            clock = graph.clock
            deadline = clock.now()
            while True:
                deadline = clock.add(deadline, 100)
                await clock.sleep_until(deadline)
                graph.write(node, self.last)

        def __call__(self, v):
            self.last = v
            return v

    hb = Heartbeat()
    clock = VirtualClock()
    seen = []
    p = Pipeline()
    p.record("a", int)
    p.record("b", int, Ring(16))
    p.record("c", int)
    p.source("a")
    p.transform("b", hb, "a", name="heartbeat")
    p.transform("c", lambda b: b * 10, "b")
    p.tap("b", seen.append)
    g = p.build()

    async def main():
        g.start(clock)
        assert hb.bound == (clock, "heartbeat")  # bound once, clock first, before any task ran
        await clock.advance(50)
        assert seen == []  # nothing written yet: write() ignores None
        g.push("a", 7)
        await clock.advance(200)
        g.stop()
        await clock.advance(500)  # stop() cancelled the spawned timer

    run(main())
    assert seen == [7, 7, 7], seen
    assert g.records["c"].value == 70 and g.records["c"].produced == 3


def test_real_clock_has_the_virtual_clocks_interface():
    clock = RealClock()

    async def main():
        t0 = clock.now()
        await clock.sleep_until(clock.add(t0, 5))
        return clock.diff(clock.now(), t0)

    assert run(main()) >= 4
    p = Pipeline()
    p.record("a", int)
    p.source("a")
    g = p.build()

    async def started():
        g.start()
        g.stop()
        return g.clock

    assert run(started()) is RealClock()


def test_build_twice_is_a_clear_error():
    p = Pipeline("twice")
    p.record("a", int)
    p.source("a")
    g = p.build()
    with raises(GraphError, match="pipeline twice: already built"):
        p.build()
    g.push("a", 1)
    assert g.records["a"].value == 1


def join4(a, b, c, d):
    return a + b + c + d


def join8(a, b, c, d, e, f, g, h):
    return a + b + c + d + e + f + g + h


def test_four_and_eight_input_joins_without_allocating():
    p = Pipeline()
    for k in "abcdefgh":
        p.record(k, int)
        p.source(k)
    p.record("sum4", int)
    p.record("sum8", int)
    p.transform("sum4", join4, "a", "b", "c", "d")
    p.transform("sum8", join8, "a", watch=tuple("bcdefgh"))
    g = p.build()
    for k in "hgfedcba":  # "a" last: both joins then have every value
        g.push(k, 1)
    errors = g.nodes[-1].errors + g.nodes[-2].errors  # joins that fired before all had values

    def loop():
        for i in range(1000):
            g.push("a", i & 0xFF)
            g.push("d", 2)

    heap_locked(loop)
    assert (g.records["sum4"].value, g.records["sum8"].value) == (231 + 1 + 1 + 2, 231 + 1 + 1 + 2 + 4)
    assert g.nodes[-1].errors + g.nodes[-2].errors == errors


def test_failures_allocate_nothing_and_read_as_text():
    p = Pipeline(dead_letters=4)
    p.record("a", int)
    p.record("inv", int)
    p.source("a")
    p.transform("inv", lambda a: 100 // a, "a", name="invert")
    g = p.build()
    g.push("a", 1)

    def loop():
        for _ in range(10):
            g.push("a", 0)  # ZeroDivisionError every time, with the heap locked
        return g.nodes[1].errors

    assert heap_locked(loop) == 10
    assert isinstance(g.nodes[1].error, ZeroDivisionError)
    assert g.stats()["nodes"]["transform:invert"]["last_error"].startswith("ZeroDivisionError")
    entries = g.dead_letters.entries()
    assert len(entries) == 4 and entries[-1][:2] == ("invert", 0)
    assert entries[-1][2].startswith("ZeroDivisionError")
    assert g.dead_letters.produced == 10 and g.dead_letters.dropped == 6


def test_a_source_survives_memory_errors():
    clock = VirtualClock()
    calls = [0]

    def read():
        calls[0] += 1
        if calls[0] <= 3:
            raise MemoryError("memory allocation failed")
        return calls[0]

    async def main():
        p = Pipeline()
        p.record("v", int)
        p.source("v", read, every_ms=10, backoff_ms=(10, 10), name="hungry")
        g = p.build()
        g.start(clock)
        await clock.advance(100)
        g.stop()
        return g

    g = run(main())
    src = g.sources[0]
    assert src.errors == 3 and src.restarts == 1 and isinstance(src.error, MemoryError)
    assert g.records["v"].value == calls[0]


def test_periodic_source_keeps_running_through_a_locked_heap():
    """On the unix port, read() allocating with the heap locked raises MemoryError; the
    source counts it and carries on once memory is back."""
    def read():
        return [1]  # a new list: allocates

    p = Pipeline()
    p.record("v", object)
    p.source("v", read, every_ms=1, backoff_ms=(1, 2), name="alloc")
    g = p.build()

    async def main():
        g.start()
        await asyncio.sleep_ms(5)
        if MICROPYTHON:
            import micropython

            micropython.heap_lock()
        try:
            for _ in range(10):
                await asyncio.sleep_ms(1)
        finally:
            if MICROPYTHON:
                micropython.heap_unlock()
        before = g.records[g.sources[0].out].produced
        await asyncio.sleep_ms(10)
        g.stop()
        return before

    before = run(main())
    src = g.sources[0]
    assert g.records[src.out].produced > before  # still alive
    if MICROPYTHON:
        assert src.errors > 0 and isinstance(src.error, MemoryError)


def test_record_with_a_non_buffer_is_a_type_error_naming_it():
    p = Pipeline()
    with raises(TypeError, match="record 'a': the third argument is its buffer, such as Ring(8), not 8"):
        p.record("a", float, 8)
    with raises(TypeError, match="record 'b': the third argument is its buffer"):
        p.record("b", float, Ring(4).reader())  # a reader shares the buffers' base class, not their kind
    with raises(ValueError, match="a buffer's capacity must be at least 1, not 0"):
        Ring(0)


class Scaler:
    def scale(self, v):
        return v * 2

    def __call__(self, v):
        return v


def test_node_names_are_the_same_on_both_runtimes():
    s = Scaler()
    out = []
    p = Pipeline()
    p.record("a", int, Ring(4))
    p.record("b", int)
    p.record("c", int)
    p.source("a")
    p.transform("b", s.scale, "a")
    p.transform("c", s, "b")
    p.tap("a", out.append)
    p.tap("a", print)
    p.tap("c", lambda v: None)
    names = [n.name for n in p.build().nodes]
    assert names == ["push", "scale", "Scaler", "builtin", "builtin", "<lambda>"], names


def test_backoff_without_jitter_doubles_to_the_cap():
    b = Backoff(100, 1000, jitter=False)
    assert [b.next() for _ in range(6)] == [100, 200, 400, 800, 1000, 1000]
    b.reset()
    assert b.next() == 100


def _local_imports(path):
    """The sibling modules a rill module imports (at the top or lazily), from its source."""
    found = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] == "from" and words[1].startswith(".") and words[1] != ".":
                found.append(words[1][1:].split(".")[0])
            elif words[:3] == ["from", ".", "import"]:
                found.append(words[3].rstrip(","))
    return found


def test_the_core_has_no_import_cycles():
    import os

    here = __file__.rsplit("/", 1)[0]
    lib = here + "/../../lib/rill"
    names = [n[:-3] for n in os.listdir(lib) if n.endswith(".py")]
    deps = {}
    for name in names:
        deps[name] = [d for d in _local_imports(lib + "/" + name + ".py") if d in names and d != name]
    state = {}

    def visit(name, path):
        if state.get(name) == 2:
            return
        assert state.get(name) != 1, "import cycle: " + " -> ".join(path + [name])
        state[name] = 1
        for d in deps[name]:
            visit(d, path + [name])
        state[name] = 2

    for name in names:
        visit(name, [])
    assert "graph" not in deps["buffers"] and "graph" not in deps["check"]


def test_a_chain_longer_than_a_dispatch_is_a_build_error():
    p = Pipeline()
    p.record("r0", int)
    p.source("r0")
    for i in range(1, 31):
        p.record("r%d" % i, int)
        p.transform("r%d" % i, lambda v: v, "r%d" % (i - 1))
    with raises(GraphError, match="record 'r0': 30 transforms downstream; a write dispatches at most 29"):
        p.build()


def test_a_refused_result_is_the_transforms_dead_letter():
    from rill import ERROR, Queue

    p = Pipeline()
    p.record("a", int)
    p.record("q", int, Queue(1, ERROR))
    p.source("a")
    p.transform("q", lambda a: a * 2, "a", name="double")
    g = p.build()
    g.push("a", 1)
    g.push("a", 2)  # the queue is full: the transform's failure, not the pusher's
    assert g.records["q"].read() == 2
    (name, value, reason), = g.dead_letters.entries()
    assert name == "double" and value == 2 and reason.startswith("QueueFull")


def test_lazy_names_and_import_star():
    """Queue, Mailbox and QueueFull load on first use (rill.queues), and are the same
    objects however they are reached; ``from rill import *`` and a submodule import work."""
    import rill
    from rill import Mailbox, Queue, QueueFull, queues

    assert rill.Queue is Queue is queues.Queue and rill.QueueFull is QueueFull and issubclass(Mailbox, Queue)
    scope = {}
    exec("from rill import *", scope)
    assert scope["Pipeline"] is Pipeline and scope["Ring"] is Ring
    assert getattr(rill, "__wrapped__", None) is None  # tools probing dunder names get no import attempt
    with raises(ImportError):
        assert rill.no_such_module is None
