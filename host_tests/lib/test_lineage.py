"""rill.lineage: every value names the source records behind it, on a diamond, a join,
a window and a timer; taps see the record they are handed; nothing is allocated per
record with lineage on, and nothing exists with it off."""
import asyncio

from rill import Pipeline, Queue, Ring
from rill.clock import VirtualClock
from rill.filters import debounce, sliding_window_moving_average
from testkit import heap_locked, run

MP_HEAPSIZE = "192K"  # filters, queues, the MQTT bridge and this module compiled from source, on a 64-bit port


def diamond():
    p = Pipeline("diamond")
    for k in ("a", "b", "c", "d"):
        p.record(k, int)
    p.source("a")
    p.transform("b", lambda a: a + 1, "a", name="left")
    p.transform("c", lambda a: a * 2 if a % 2 else None, "a", name="odd_only")
    p.transform("d", lambda b, c: b + c, "b", "c", name="join")
    return p


def test_diamond_names_the_one_source_record_or_both_when_a_branch_is_stale():
    g = diamond().build(lineage=True)
    lin = g.lineage
    g.push("a", 1)
    assert lin.origin("a") == {"a": [1, 1]}
    assert lin.origin("d") == {"a": [1, 1]}  # both branches came from a #1
    g.push("a", 2)  # the odd_only branch returns None: c still holds a #1's result
    assert lin.origin("b") == {"a": [2, 2]}
    assert lin.origin("c") == {"a": [1, 1]}
    assert lin.origin("d") == {"a": [1, 2]}  # b from a #2, c from a #1
    g.push("a", 3)
    assert lin.origin("d") == {"a": [3, 3]}


def test_join_names_the_newest_record_of_each_source():
    p = Pipeline()
    p.record("t", float)
    p.record("h", float)
    p.record("dew", float)
    p.source("t")
    p.source("h")
    p.transform("dew", lambda t, h: t - (100 - h) / 5, "t", "h")
    g = p.build(lineage=True)
    g.push("t", 20.0)
    g.push("h", 50.0)
    assert g.lineage.origin("dew") == {"t": [1, 1], "h": [1, 1]}
    for v in (21.0, 22.0, 23.0):
        g.push("t", v)
    assert g.lineage.origin("dew") == {"t": [4, 4], "h": [1, 1]}


def test_a_window_names_the_records_it_averaged():
    p = Pipeline()
    p.record("raw", float)
    p.record("avg", float)
    p.source("raw")
    p.transform("avg", sliding_window_moving_average(3, 3, 3), "raw")  # a result every 3rd value
    g = p.build(lineage=True)
    seen = []
    for i in range(1, 7):
        g.push("raw", float(i))
        seen.append(g.lineage.origin("avg"))
    assert seen[2] == {"raw": [1, 3]} and seen[5] == {"raw": [4, 6]}, seen


def test_taps_see_the_origin_of_each_record_they_are_handed():
    p = Pipeline()
    p.record("a", int)
    p.record("twice", int, Ring(8))
    p.record("q", int, Queue(8))
    p.source("a")
    p.transform("twice", lambda a: a * 2, "a")
    p.transform("q", lambda t: t + 1, "twice")
    got = []
    p.tap("twice", lambda v: got.append(("twice", v, g.lineage.current())))
    p.tap("q", lambda v: got.append(("q", v, g.lineage.current())))
    g = p.build(lineage=True)

    async def main():
        g.start()
        for i in range(1, 11):  # more than the ring holds between wakes: the tap reads what is left
            g.push("a", i)
            if i % 5 == 0:
                await asyncio.sleep_ms(0)
                await asyncio.sleep_ms(0)
        g.stop()

    run(main())
    twice = [(v, o) for k, v, o in got if k == "twice"]
    q = [(v, o) for k, v, o in got if k == "q"]
    assert twice == [(2 * i, {"a": [i, i]}) for i in range(1, 11)], twice
    assert q == [(2 * i + 1, {"a": [i, i]}) for i in range(1, 11)], q
    assert g.lineage.current() is None  # outside a tap


def test_a_timer_write_carries_the_origin_of_the_last_call():
    clock = VirtualClock()
    p = Pipeline()
    p.record("in", int)
    p.record("out", int)
    p.source("in")
    p.transform("out", debounce(100), "in")
    g = p.build(lineage=True)

    async def main():
        g.start(clock)
        for v in (1, 2, 3):
            g.push("in", v)
            await clock.advance(10)
        await clock.advance(200)
        g.stop()

    run(main())
    assert g.records["out"].value == 3
    assert g.lineage.origin("out") == {"in": [3, 3]}


def test_lineage_allocates_nothing_per_record():
    g = diamond().build(lineage=True)
    g.push("a", 1)

    def loop():
        for i in range(2000):
            g.push("a", i)

    heap_locked(loop)
    assert g.lineage.origin("d") == {"a": [2001, 2001]}


def test_off_there_is_nothing():
    g = diamond().build()
    assert g.lineage is None
    for buf in g.records.values():
        assert not hasattr(buf, "origin")


def test_the_mqtt_envelope_carries_the_origin(broker):
    import json
    import time

    from rill.mqtt import Bridge
    from testkit import until

    w = broker.watch("lin/dev1/avg")

    async def main():
        p = Pipeline("lin")
        p.record("raw", float)
        p.record("avg", float, Ring(8))
        p.source("raw")
        p.transform("avg", sliding_window_moving_average(2, 2, 2), "raw")
        mq = Bridge(broker.host, "dev1", broker.port, seq=None, outbox=16, outbox_bytes=2048)
        mq.publish("avg", "lin/{device}/avg")
        mq.attach(p)
        g = p.build(lineage=True)
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        for i in range(1, 7):
            g.push("raw", float(i))
            await asyncio.sleep_ms(0)
        assert await until(lambda: mq.outbox.acked == 3), mq.stats()
        await mq.close()
        g.stop()
        return task

    run(main())
    deadline = time.ticks_add(time.ticks_ms(), 5000)
    while len(broker.seen(w)) < 3 and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        time.sleep_ms(20)
    got = [json.loads(m) for m in broker.seen(w)]
    assert [(m["v"], m["o"]) for m in got] == [(1.5, {"raw": [1, 2]}), (3.5, {"raw": [3, 4]}),
                                              (5.5, {"raw": [5, 6]})], got
