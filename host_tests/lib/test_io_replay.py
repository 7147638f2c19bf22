"""rill.io.recorder and rill.io.replay: a run with random sensor values and timing jitter
is captured, then replayed in virtual time through a fresh graph of the same pipeline;
every tap's output stream is identical, byte for byte."""
import asyncio
import gc
import json
import os
import random
import time

from rill import Pipeline, Ring
from rill.clock import VirtualClock
from rill.filters import heartbeat, latest, sliding_window_moving_average, throttle, throttle_average
from rill.io import frame
from rill.io.recorder import Recorder
from rill.io.replay import replay
from rill.io.sink import FileSink
from testkit import run

MP_HEAPSIZE = "256K"  # two graphs of filters (~20 KB each) and both runs' outputs (~26 KB each) at once


def pipeline(clock, outputs, rng):
    """Two random sensors (one periodic that sometimes fails, one task with jitter), a
    window, timers and a join; every tap writes (time, value) as JSON to ``outputs``."""
    def read():
        r = rng.getrandbits(4)
        if r == 0:
            raise OSError(5)  # a bus error: counted, then ``missing``
        return None if r == 1 else rng.getrandbits(12) / 100

    async def jittery(emit):
        while True:
            await clock.sleep_until(clock.add(clock.now(), 50 + rng.getrandbits(10)))
            emit(rng.getrandbits(8))

    def tap(key):
        out = outputs[key] = []
        return lambda v: out.append(json.dumps([clock.now(), v]))

    p = Pipeline("replayed")
    p.record("temp", float)
    p.record("count", int, Ring(8))
    p.record("smooth", float, Ring(8))
    p.record("slow", int, Ring(8))
    p.record("avg", float, Ring(8))
    p.record("beat", float, Ring(8))
    p.record("both", object)  # latest() rewrites one list in place: a Latest record
    p.source("temp", read, every_ms=700, missing=-1.0, name="sensor")
    p.source("count", task=jittery, name="jitter")
    p.transform("smooth", sliding_window_moving_average(3, 1), "temp")
    p.transform("slow", throttle(900), "count")
    p.transform("avg", throttle_average(2000), "count")
    p.transform("beat", heartbeat(1500), "smooth")
    p.transform("both", latest(2), "smooth", "count")
    for key in ("count", "smooth", "slow", "avg", "beat", "both"):
        p.tap(key, tap(key))
    return p


def _path(name):
    folder = "/tmp/rill-io-%d" % time.ticks_us()
    os.mkdir(folder)  # segments are found by listing the folder: keep it small
    return folder + "/" + name


def _same_streams(first, second):
    """Each tap's output stream, compared as bytes, line by line (JSON lines hold no newline)."""
    assert sorted(first) == sorted(second)
    for key in first:
        assert len(first[key]) == len(second[key]), key
        for a, b in zip(first[key], second[key]):
            assert a.encode() == b.encode(), (key, a, b)
    return True


def test_replay_is_byte_identical():
    path = _path("capture")
    clock, first = VirtualClock(), {}
    g = pipeline(clock, first, random.Random(7) if hasattr(random, "Random") else _seeded(7)).build()
    rec = Recorder(FileSink(path, max_bytes=1 << 20, every=8, clock=clock)).attach(g)

    async def original():
        g.start(clock)
        await clock.advance(30000)
        rec.close()
        g.stop()

    try:
        run(original())
        assert rec.records > 60 and g.sources[0].errors > 0  # failures happened, and were captured as missing
        n, head, last = 0, None, None
        for last in frame.read(path):
            head = head or last
            n += 1
        assert head == {"capture": "replayed", "sources": {"temp": "sensor", "count": "jitter"}}
        assert last == {"end": 30000} and n == rec.records + 2
        records = rec.records
        g = rec = head = last = None
        gc.collect()
        clock2, second = VirtualClock(), {}
        g2 = pipeline(clock2, second, None).build()  # no random source: a read would fail
        rp = run(replay(g2, frame.read(path), clock2))
        assert rp.pushed == records and clock2.now() == 30000
        assert sum(len(v) for v in first.values()) > 60
        assert _same_streams(first, second)
    finally:
        for seg in frame.paths(path):
            os.remove(seg)
        os.rmdir(path[:path.rfind("/")])


def _seeded(seed):
    random.seed(seed)
    return random


def test_unknown_keys_are_dead_letters():
    clock, out = VirtualClock(), {}
    g = pipeline(clock, out, None).build()
    rp = run(replay(g, [{"capture": "x"}, [0, "nope", 1], [5, "smooth", 2.0], [10, "count", 3], {"end": 20}],
                    clock))
    assert rp.unknown == 1 and rp.pushed == 1 and out["count"] == ["[10, 3]"]
    assert [e[0] for e in g.dead_letters.entries()] == ["replay", "replay"]
    assert asyncio is not None


def test_a_record_the_sink_refuses_still_goes_on():
    path = _path("refused")
    clock, out = VirtualClock(), []
    p = Pipeline("refusing")
    p.record("s", str)
    p.source("s")
    p.tap("s", out.append)
    g = p.build()
    rec = Recorder(FileSink(path, every=1, max_line=64, clock=clock)).attach(g)

    async def main():
        g.start(clock)
        for v in ("short", "long" * 20, "end"):
            g.push("s", v)
            await clock.advance(1)
        rec.close()
        g.stop()

    try:
        run(main())
        assert out == ["short", "long" * 20, "end"] and rec.failed == 1 and rec.records == 3
        assert [r[2] for r in frame.read(path) if isinstance(r, list)] == ["short", "end"]
        name, _, reason = g.dead_letters.entries()[0]
        assert name == "recorder" and "max_line" in reason
    finally:
        for seg in frame.paths(path):
            os.remove(seg)
        os.rmdir(path[:path.rfind("/")])
