"""A replay publishes the device's payloads byte for byte even when two sources write
in the same millisecond (issue 18): two sources on one 10 ms grid, on real time, feed
joins (latest, zip_seq) and windows (sliding, tumbling); a bridge publishes them to the
real broker while a Recorder captures. Their taps run after both writes, so the board
publishes pair, pair, zip; a replay that let the taps run between the two writes
published pair, zip, pair, and messages carried each other's sequence numbers. The
capture now says how many taps were waiting at each write (rill.io.recorder), and the
replay, built from the same pipeline, publishes the broker's payloads in the broker's
order. With ``build(lineage=True)`` on the device, the capture says so and
``transcript`` replays with lineage: the same origins (``"o"``) in every payload."""
import asyncio
import gc
import json
import os
import time

from rill import Pipeline, Ring
from rill.clock import VirtualClock
from rill.filters import latest, sliding_window_moving_average, tumbling, zip_seq
from rill.io import frame
from rill.io.recorder import Recorder
from rill.io.replay import Replay
from rill.io.sink import FileSink
from rill.mqtt import Bridge
from testkit import run, until

MP_TIMEOUT_S = 60
MP_HEAPSIZE = "512K"  # two graphs, two bridges' outboxes and the messages the broker saw
MP_HEAPSIZE32 = "384K"
MP_HEAPSIZE32_WHY = "every message the broker saw is read back over the harness's JSON calls"
KEYS = ("pair", "zip", "avg", "win")
WATCH = "twins/twins-1/#"


def pipeline(read_a, read_b):
    """Two sources on the same 10 ms grid, two joins and two windows over them."""
    p = Pipeline("twins")
    p.record("a", int, Ring(16))
    p.record("b", int, Ring(16))
    p.record("pair", object)  # latest() rewrites one list in place: a Latest record
    p.record("zip", object)
    p.record("avg", float, Ring(16))
    p.record("win", object)
    p.source("a", read_a, every_ms=10, name="sa")
    p.source("b", read_b, every_ms=10, name="sb")
    p.transform("pair", latest(2), "a", "b")
    p.transform("zip", zip_seq(2), "a", "b")
    p.transform("avg", sliding_window_moving_average(4, 1), "a")
    p.transform("win", tumbling(count=4), "a", "b")
    return p


def bridge(broker, outbox=8, outbox_bytes=1024):
    """The bridge publishing the joins and windows (a replay's never sends: a small outbox)."""
    mq = Bridge(broker.host, "twins-1", broker.port, keepalive=10, outbox=outbox, outbox_bytes=outbox_bytes,
                seq=None, spill=0)
    for key in KEYS:
        mq.publish(key, "twins/{device}/" + key)
    return mq


def _path():
    folder = "/tmp/rill-order-%d" % time.ticks_us()
    os.mkdir(folder)
    return folder + "/capture"


def _remove(path):
    for seg in frame.paths(path):
        os.remove(seg)
    os.rmdir(path[:path.rfind("/")])


def device_run(broker, path, lineage):
    """The device: real time, a real broker, a FileSink capture. Returns the records."""
    n = [0, 0]
    done = []

    def read_a():
        if done:
            return None
        n[0] += 1
        return n[0] * 7 % 23

    def read_b():
        if done:
            return None
        n[1] += 1
        return n[1] * 5 % 17

    p = pipeline(read_a, read_b)
    mq = bridge(broker, 512, 65536).attach(p)
    g = p.build(lineage=lineage)
    rec = Recorder(FileSink(path, max_bytes=1 << 20, every=64)).attach(g, bridges=[mq])

    async def main():
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(400)
        done.append(True)
        await asyncio.sleep_ms(50)
        rec.close()
        assert await mq.close() == 0
        g.stop()
        await asyncio.sleep_ms(0)
        task.cancel()

    run(main())
    assert rec.failed == 0 and rec.records > 50
    published = mq.seq.n
    mq = g = p = rec = None
    gc.collect()
    return published


def _seen(broker, published):
    assert run(until(lambda: len(broker.seen(0)) >= published))
    return [text.encode() for text in broker.seen(0)]


def _first_difference(mine, theirs):
    i = 0
    while i < len(mine) and i < len(theirs) and mine[i] == theirs[i]:
        i += 1
    return "payload %d of %d/%d: %r != %r" % (i, len(mine), len(theirs), mine[i:i + 2], theirs[i:i + 2])


def _waiting(path):
    """How many records the device wrote while taps woken before them still waited."""
    return len([r for r in frame.read(path) if isinstance(r, list) and len(r) == 4])


def _joined(out):
    p = Pipeline("j")
    p.record("a", int)
    p.record("b", int)
    p.record("pair", object)  # a Latest record: a tap that runs late sees the newest pair
    p.source("a")
    p.source("b")
    p.transform("pair", latest(2, require_all=False), "a", "b")
    p.tap("pair", lambda v: out.append(json.dumps(v)))
    return p


def test_a_lineage_capture_through_a_graph_without_lineage_warns():
    out = []
    rp = run(Replay(_joined(out).build(), [{"capture": "j", "lineage": True}, [0, "a", 1], {"end": 1}]).run(
        VirtualClock()))
    assert rp.lineage and "made with lineage=True" in rp.warning and out == ["[1, null]"]
