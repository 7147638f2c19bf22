import asyncio

from rill import EMPTY, Pipeline, Queue, Ring
from rill.clock import VirtualClock
from testkit import run


def test_diamond_runs_each_node_once_per_cycle():
    calls = []
    p = Pipeline()
    for k in ("a", "b", "c", "d"):
        p.record(k, int)
    p.source("a")
    p.transform("b", lambda a: a + 1, "a")
    p.transform("c", lambda a: a * 10, "a")

    def join(b, c):
        calls.append((b, c))
        return b + c

    p.transform("d", join, "b", "c")
    g = p.build()
    g.push("a", 1)
    g.push("a", 2)
    assert calls == [(2, 10), (3, 20)]
    assert g.records["d"].value == 23


def test_filter_returning_none_stops_propagation():
    seen = []
    p = Pipeline()
    p.record("a", int)
    p.record("even", int)
    p.record("half", int)
    p.source("a")
    p.transform("even", lambda a: a if a % 2 == 0 else None, "a")
    p.transform("half", lambda e: seen.append(e) or e // 2, "even")
    g = p.build()
    for i in range(6):
        g.push("a", i)
    assert seen == [0, 2, 4]
    assert g.records["half"].value == 2


def test_join_fires_on_trigger_and_reads_latest_watched():
    p = Pipeline()
    p.record("temp", int)
    p.record("offset", int)
    p.record("out", int)
    p.source("temp")
    p.source("offset")
    p.transform("out", lambda t, o: t + (o or 0), "temp", watch=("offset",))
    g = p.build()
    g.push("temp", 10)
    assert g.records["out"].value == 10
    g.push("offset", 5)  # watched only: no new output
    assert g.records["out"].value == 10
    assert g.records["out"].produced == 1
    g.push("temp", 20)
    assert g.records["out"].value == 25


def test_stateful_transform():
    class Counter:
        def __init__(self):
            self.n = 0

        def __call__(self, v):
            self.n += 1
            return self.n

    p = Pipeline()
    p.record("a", int)
    p.record("n", int)
    p.source("a")
    p.transform("n", Counter(), "a")
    g = p.build()
    for i in range(5):
        g.push("a", i)
    assert g.records["n"].value == 5


def test_raising_transform_is_counted_and_dead_lettered():
    p = Pipeline()
    p.record("a", int)
    p.record("inv", int)
    p.record("ok", int)
    p.source("a")
    p.transform("inv", lambda a: 100 // a, "a", name="invert")
    p.transform("ok", lambda a: a, "a", name="passthru")
    g = p.build()
    for v in (1, 0, 5):
        g.push("a", v)
    node = [n for n in g.nodes if n.name == "invert"][0]
    assert node.errors == 1
    assert g.records["inv"].value == 20
    assert g.records["ok"].value == 5  # nothing else stopped
    (key, value, reason), = g.dead_letters.entries()
    assert key == "invert" and value == 0 and reason.startswith("ZeroDivisionError")


def test_taps_see_every_record_in_order():
    async def main():
        p = Pipeline()
        p.record("a", int, Ring(16))
        p.source("a")
        seen = []
        p.tap("a", seen.append)
        g = p.build()
        g.start()
        for i in range(10):
            g.push("a", i)
            if i % 3 == 0:
                await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        g.stop()
        return seen

    assert run(main()) == list(range(10))


def test_slow_tap_does_not_block_producer_and_counts_missed():
    async def main():
        p = Pipeline()
        p.record("a", int, Ring(4))
        p.source("a")
        seen = []
        p.tap("a", seen.append, name="slow")
        g = p.build()
        g.start()
        for i in range(10):  # producer runs ahead without yielding
            g.push("a", i)
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        g.stop()
        return g, seen

    g, seen = run(main())
    assert seen == [6, 7, 8, 9]
    assert g.stats()["nodes"]["tap:slow"]["missed"] == 6


def test_raising_tap_is_counted_and_others_continue():
    async def main():
        p = Pipeline()
        p.record("a", int, Ring(8))
        p.source("a")
        good = []

        def bad(v):
            raise ValueError("tap broke on %d" % v)

        p.tap("a", bad, name="bad")
        p.tap("a", good.append, name="good")
        g = p.build()
        g.start()
        g.push("a", 1)
        g.push("a", 2)
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        g.stop()
        return g, good

    g, good = run(main())
    assert good == [1, 2]
    assert g.stats()["nodes"]["tap:bad"]["errors"] == 2
    assert g.dead_letters.entries()[-1] == ("bad", 2, "ValueError: tap broke on 2")


def counter():
    """A read() that returns 1, 2, 3...; n[0] is how many times it was called."""
    n = [0]

    def read():
        n[0] += 1
        return n[0]

    return n, read


def periodic_pipeline(read, every_ms=1000, **kw):
    p = Pipeline()
    p.record("v", object, Ring(64))
    p.source("v", read, every_ms=every_ms, name="sensor", **kw)
    return p


def test_periodic_source_hours_of_virtual_time_without_drift():
    clock = VirtualClock()
    seen = {"n": 0, "off_grid": 0, "last": None}

    def read():  # checks each reading's time as it happens; storing 10,800 stamps would not fit a board's heap
        seen["n"] += 1
        if clock.now() != seen["n"] * 1000:
            seen["off_grid"] += 1
        seen["last"] = clock.now()
        return seen["n"]

    async def main():
        g = periodic_pipeline(read, every_ms=1000).build()
        g.start(clock)
        await clock.advance(3 * 3600 * 1000)  # three hours
        g.stop()
        return g

    g = run(main())
    assert seen["n"] == 3 * 3600 and seen["off_grid"] == 0
    assert seen["last"] == 3 * 3600 * 1000
    assert g.records["v"].produced == 3 * 3600
    assert g.sources[0].errors == 0


def test_failing_source_counts_emits_missing_and_backs_off():
    clock = VirtualClock()
    attempts = []

    def read():
        attempts.append(clock.now())
        if len(attempts) <= 4:
            raise OSError(5)
        return 7

    async def main():
        g = periodic_pipeline(read, every_ms=100, missing=-1, backoff_ms=(100, 1000)).build()
        r = g.records["v"].reader()
        g.start(clock)
        await clock.advance(5000)
        g.stop()
        vals = []
        while True:
            v = r.read()
            if v is None or v is EMPTY:
                break
            vals.append(v)
        return g, vals

    g, vals = run(main())
    src = [n for n in g.nodes if n.name == "sensor"][0]
    assert src.errors == 4 and src.restarts == 1
    assert isinstance(src.error, OSError)
    assert g.stats()["nodes"]["source:sensor"]["last_error"].startswith("OSError")
    assert vals[:4] == [-1, -1, -1, -1] and vals[4] == 7
    gaps = [attempts[i + 1] - attempts[i] for i in range(5)]
    assert gaps == [100, 200, 400, 800, 100], gaps  # exponential backoff, then back on the grid


def test_task_source_is_restarted_with_backoff():
    clock = VirtualClock()
    starts = []

    async def flaky(emit):
        starts.append(clock.now())
        emit(len(starts))
        if len(starts) < 3:
            raise RuntimeError("sensor went away")
        while True:
            await asyncio.sleep_ms(1000)

    async def main():
        p = Pipeline()
        p.record("v", int)
        p.source("v", task=flaky, backoff_ms=(50, 1000), name="flaky")
        g = p.build()
        g.start(clock)
        await clock.advance(1000)
        g.stop()
        return g

    g = run(main())
    src = g.sources[0]
    assert starts == [0, 50, 150], starts
    assert src.errors == 2 and src.restarts == 2
    assert g.records["v"].value == 3


def test_block_queue_backpressure_slows_periodic_source():
    clock = VirtualClock()
    n, read = counter()

    async def main():
        from rill import BLOCK

        p = Pipeline()
        p.record("q", int, Queue(3, BLOCK))
        p.source("q", read, every_ms=10, name="fast")
        g = p.build()
        g.start(clock)
        await clock.advance(1000)
        q = g.records["q"]
        blocked_at = n[0]
        first = q.read()
        await clock.advance(1000)
        g.stop()
        return q, blocked_at, first

    q, blocked_at, first = run(main())
    assert first == 1
    assert q.dropped == 0
    assert blocked_at == 4  # three stored, the fourth waits for room
    assert q.produced == 4


def test_emit_wait_gives_task_sources_backpressure():
    async def producer(emit):
        for i in range(6):
            await emit.wait(i)

    async def main():
        p = Pipeline()
        p.record("q", int, Queue(2))
        p.source("q", task=producer)
        g = p.build()
        g.start()
        await asyncio.sleep_ms(0)
        q = g.records["q"]
        got = []
        for _ in range(20):
            v = q.read()
            if v is not EMPTY:
                got.append(v)
            await asyncio.sleep_ms(0)
        g.stop()
        return q, got

    q, got = run(main())
    assert got == [0, 1, 2, 3, 4, 5]
    assert q.dropped == 0


def test_graph_run_until_stop():
    async def main():
        p = Pipeline()
        p.record("a", int)
        p.source("a")
        g = p.build()

        async def stopper():
            await asyncio.sleep_ms(1)
            g.push("a", 1)
            g.stop()

        asyncio.create_task(stopper())
        await g.run()
        return g

    assert run(main()).records["a"].value == 1


def test_stats_include_sources_taps_and_dead_letters():
    p = Pipeline()
    p.record("a", int, Ring(4))
    p.source("a", name="in")
    p.tap("a", print, name="log")
    g = p.build()
    g.push("a", 1)
    s = g.stats()
    assert s["records"]["a"]["produced"] == 1
    assert s["nodes"]["source:in"]["runs"] == 1
    assert s["nodes"]["tap:log"]["lag"] == 1
    assert s["dead_letters"]["produced"] == 0


def test_error_queue_refusal_is_a_counted_source_failure_not_a_dead_task():
    clock = VirtualClock()
    n, read = counter()

    async def main():
        from rill import ERROR

        p = Pipeline()
        p.record("q", int, Queue(2, ERROR))
        p.source("q", read, every_ms=10, name="fast", backoff_ms=(10, 10))
        g = p.build()
        g.start(clock)
        await clock.advance(100)
        q = g.records["q"]
        assert q.read() == 1 and q.read() == 2
        await clock.advance(100)  # the task is alive: it fills the queue again
        g.stop()
        return g, q

    g, q = run(main())
    src = g.sources[0]
    assert q.occupancy() == 2
    assert src.errors > 0 and type(src.error).__name__ == "QueueFull"


def test_push_to_unknown_record_is_a_clear_error():
    p = Pipeline()
    p.record("a", int)
    p.source("a")
    g = p.build()
    from testkit import raises

    with raises(ValueError, match="push('nope')"):
        g.push("nope", 1)


def test_drop_queue_drops_new_records_from_a_periodic_source():
    clock = VirtualClock()
    n, read = counter()

    async def main():
        p = Pipeline()
        p.record("q", int, Queue(3))
        p.source("q", read, every_ms=10, name="fast")
        g = p.build()
        g.start(clock)
        await clock.advance(100)
        g.stop()
        return g.records["q"]

    q = run(main())
    assert [q.read(), q.read(), q.read()] == [1, 2, 3]
    assert q.dropped == 7 and q.produced == 3
