"""rill.status: the status record's contents, its retained publish over a real broker,
the loop-stall histogram, and no allocation while it runs between records."""
import asyncio
import json
import os
import time

from rill import Pipeline, Ring
from rill.clock import VirtualClock
from rill.mqtt import Bridge
from testkit import MICROPYTHON, raises, run, until

MP_HEAPSIZE = "192K"  # a bridge, its default outbox, the status record and this module from source, on 64 bits


def picky(x):
    if x % 5 == 0:
        raise ValueError("no multiples of 5")
    return x if x & 1 else None


def keep_odd(x):
    return x if x & 1 else None


def counting(p, every_ms=1, fn=picky):
    state = {"n": 0}

    def read():
        state["n"] = (state["n"] + 1) & 0xFFFF
        return state["n"]

    p.record("raw", int, Ring(8))
    p.record("odd", int, Ring(8))
    p.source("raw", read, every_ms=every_ms, name="counter")
    p.transform("odd", fn, "raw", name="picky")
    p.tap("odd", lambda v: None, name="sink")
    return state


def test_snapshot_has_its_contents_in_virtual_time():
    from rill.status import Status

    p = Pipeline("st")
    counting(p, every_ms=100)
    st = Status(p, every_ms=1000, probe_ms=100, timing=True)
    g = p.build()
    with raises(ValueError, match="not started"):
        st.snapshot()
    clock = VirtualClock()

    async def main():
        g.start(clock)
        await clock.advance(5000)
        g.stop()

    run(main())
    rec = g.records["status"].value
    assert st.published == 5 and rec["uptime_s"] == 5, rec  # the 5th record, at 5 s
    snap = st.snapshot()
    assert snap["uptime_s"] == 5
    picky_ = snap["stages"]["picky"]
    assert picky_["calls"] == 50 and picky_["errors"] == 10 and picky_["max_us"] >= 0, picky_
    assert snap["stages"]["counter"] == {"calls": 50, "errors": 0}
    assert snap["buffers"]["odd"]["drops"] == 0 and snap["buffers"]["raw"]["occupancy"] == 8
    assert snap["dead_letters"]["total"] == 10 and snap["dead_letters"]["reasons"] == {"ValueError": 8}, snap
    assert snap["stall_ms"] == {"p99": 0, "max": 0}  # virtual time never runs late
    assert snap["build"]["lib"] == "unknown"  # no build.json here
    assert "outbox" not in snap
    if MICROPYTHON:
        assert 0 < snap["heap"]["low"] <= snap["heap"]["free"] + 4096, snap["heap"]
    else:
        assert snap["heap"] == {"free": None, "low": None}
    json.dumps(snap)  # JSON all the way down: it goes over MQTT


def test_stall_p99_and_max_on_real_time():
    from rill.status import Status

    p = Pipeline("stall")
    st = Status(p, every_ms=0, probe_ms=5)
    g = p.build()

    async def main():
        g.start()
        await asyncio.sleep_ms(60)
        time.sleep_ms(40)  # the loop is held up: the probe wakes about 40 ms late
        await asyncio.sleep_ms(30)
        g.stop()

    run(main())
    assert st.stall_max >= 30, st.hist
    assert sum(st.hist) >= 5 and st.stall_p99() >= 0
    assert g.records["status"].value is None  # every_ms=0: no record, the snapshot still works
    assert st.snapshot()["stall_ms"]["max"] == st.stall_max


def test_published_retained_with_outbox_and_boot(broker):
    from rill.status import Status

    async def main():
        p = Pipeline("pub")
        mq = Bridge(broker.host, "st1", broker.port, seq=None)
        st = Status(p, every_ms=200, probe_ms=50, bridge=mq)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        try:
            assert await until(lambda: st.published >= 1 and mq.outbox.occupancy() == 0, every=20), mq.stats()
            await mq.close()
        finally:
            g.stop()
            await asyncio.sleep_ms(0)
        return task

    run(main())
    w = broker.watch("rill/st1/status/metrics")  # subscribed after the publish: the broker kept it
    deadline = time.ticks_add(time.ticks_ms(), 5000)
    while not broker.seen(w) and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        time.sleep_ms(20)
    got = json.loads(broker.seen(w)[-1])
    v = got["v"]
    assert got["dev"] == "st1" and v["boot"] == 0 and v["reconnects"] == 0 and v["memory_errors"] == 0, got
    assert v["outbox"]["drops"] == 0 and v["outbox"]["depth"] >= 0, v
    assert v["stages"]["mqtt>status"]["errors"] == 0 and "status" in v["buffers"], v


class _NoLock:
    """CPython has no heap lock: the test then runs unlocked, as testkit.heap_locked does."""

    def heap_lock(self):
        pass

    def heap_unlock(self):
        pass


def _heap():
    if MICROPYTHON:
        import micropython

        return micropython
    return _NoLock()


def test_no_allocation_between_records():
    """The probe, the pipeline and the taps on the real loop, heap locked: the status
    costs nothing per record while it is off (every_ms=0) or between its records."""
    from rill.status import Status

    p = Pipeline("quiet")
    state = counting(p, fn=keep_odd)
    st = Status(p, every_ms=0, probe_ms=1, timing=True)
    g = p.build()

    async def main():
        g.start()
        await asyncio.sleep_ms(20)  # warm up
        before, probes = state["n"], sum(st.hist)
        heap = _heap()
        for _ in range(25):  # 40 ms windows until enough ran: a loaded machine runs fewer per window
            heap.heap_lock()
            try:
                await asyncio.sleep_ms(40)  # the source, the transforms, the tap and the probe run meanwhile
            finally:
                heap.heap_unlock()
            if state["n"] - before > 5 and sum(st.hist) - probes > 5:
                break
        g.stop()
        return state["n"] - before, sum(st.hist) - probes

    records, probes = run(main())
    assert records > 5 and probes > 5, (records, probes)
    assert g.sources[0].errors == 0, g.sources[0].error  # a MemoryError would be counted here
    assert [n.errors for n in g.nodes] == [0, 0, 0, 0], [n.error for n in g.nodes]  # the probe's too
    assert g.dead_letters.produced == 0


def status_example(run, code):
    """docs/writing-an-app.md's Status example (test_examples.py runs it on every runtime)."""
    scope = run()
    st = scope["st"]
    snap = st.snapshot()
    assert st.published == 6 and snap["uptime_s"] == 60, snap
    assert snap["stages"]["<lambda>"] == {"calls": 60, "errors": 0}, snap["stages"]
    assert scope["g"].records["status"].value["uptime_s"] == 60


def test_timed_transforms_keep_their_own_names():
    from rill.status import Status

    def halve(v):
        return v // 2

    def double(v):
        return v * 2

    p = Pipeline("names")
    p.record("raw", int)
    p.record("half", int)
    p.record("twice", int)
    p.source("raw")
    p.transform("half", halve, "raw")
    p.transform("twice", double, "raw")
    Status(p, every_ms=0, timing=True)
    names = [n.name for n in p.build().nodes]
    assert "halve" in names and "double" in names and "timed" not in names, names


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("made text of a dead letter's reason")


def test_dead_letters_are_counted_by_class_name_without_making_text():
    from rill.describe import reasons

    p = Pipeline("reasons")
    p.record("a", int)
    p.source("a")
    dead = p.build().dead_letters
    dead.add("x", 1, Unprintable())
    dead.add("x", 2, ValueError("looks: like a type"))
    for v in (3, 4):
        dead.add("replay", v, "replay: no source writes 'k'")
    assert reasons(dead) == {"Unprintable": 1, "ValueError": 1, "replay: no source writes 'k'": 2}


def test_the_outbox_part_shows_ram_and_flash_backlog_oldest_age_and_drops():
    """A bridge whose broker is away (never connected): records pile up in its RAM outbox
    (4), then in its spill log; the status record says so, with the oldest record's age in
    virtual time; once delivered (the test plays the broker) the backlog reads empty."""
    from rill.status import Status
    from test_mqtt_spill import _clean, _path, _segments, payload, send_all

    path = _path("status")
    _clean(path)
    p = Pipeline("backlog")
    mq = Bridge("127.0.0.1", "st2", 1, outbox=4, seq=None, spill=64 * 1024, spill_path=path)
    st = Status(p, every_ms=0, probe_ms=100, bridge=mq)
    g = p.build()
    snaps = []

    async def main():
        clock = VirtualClock()
        g.start(clock)
        await clock.advance(500)  # nothing pending yet
        snaps.append(st.snapshot()["outbox"])
        for i in range(30):  # 3 s of records at 10 Hz
            mq.put(b"o/st2/x", payload(i))
            await clock.advance(100)
        snaps.append(st.snapshot()["outbox"])
        mq.outbox.spill.flush()  # the batch in RAM, to flash: the bytes the status counted are the file's
        snaps.append(sum(os.stat(path + "." + n.split(".")[-1])[6] for n in _segments(path)))
        assert send_all(mq.outbox) == list(range(30))
        await clock.advance(200)
        snaps.append(st.snapshot()["outbox"])
        g.stop()

    run(main())
    empty, full, on_flash, drained = snaps
    assert empty == {"depth": 0, "pending": 0, "flash": 0, "flash_bytes": 0, "drops": 0, "oldest_ms": 0}, empty
    assert full["depth"] == 4 and full["pending"] == 30 and full["flash"] == 26 and full["drops"] == 0, full
    assert full["flash_bytes"] == on_flash and on_flash <= 20 * 26, (full, on_flash)  # ~14 B a record (spill.py)
    assert 2900 <= full["oldest_ms"] <= 3100, full
    assert drained["pending"] == 0 and drained["flash"] == 0 and drained["oldest_ms"] == 0, drained
