"""A capture over MQTT (rill.io.mqttsink) and a replay's publishes (rill.io.replay),
through the real broker: a run with random values and timing jitter publishes to the
broker and captures to the capture topic; its capture, taken from the broker, replays
through a fresh pipeline and bridge that never connect, and gives every tap's output
and every published payload (topic and bytes, envelope included) of the original run."""
import asyncio
import random

from porch import bridge, porch
from rill import Pipeline
from rill.clock import VirtualClock
from rill.io import frame
from rill.io.mqttsink import MqttSink
from rill.io.recorder import Recorder
from rill.io.replay import replay
from rill.mqtt import DROP_NEWEST, Bridge, Sequence
from rill.mqtt.codecs import JSON
from testkit import raises, run, until

MP_TIMEOUT_S = 60
MP_HEAPSIZE = "256K"  # two graphs, two bridges' outboxes and the messages seen
MP_HEAPSIZE32 = "192K"
MP_HEAPSIZE32_WHY = ("the test reads every message the broker saw back over the harness's JSON calls, as many as "
                     "a real-time run made: 176-184K measured on 32 bits, over RPI_PICO_W's 160K")
TOPICS = ("porch/porch-1/smooth", "porch/porch-1/sum")
CAPTURE = "rill/porch-1/capture"


def original(broker, out):
    """The run on real time; returns the bridge and the recorder."""
    rng = random.Random(11) if hasattr(random, "Random") else random
    reads = [0]
    done = []

    def read():
        if done:
            return None  # no value
        reads[0] += 1
        if reads[0] % 7 == 3:
            raise OSError(5)  # a bus error: captured as ``missing``
        return None if rng.getrandbits(4) == 1 else rng.getrandbits(12)

    async def jitter(emit):
        while not done:
            await asyncio.sleep_ms(5 + rng.getrandbits(5))
            emit(rng.getrandbits(8))

    p = porch(read, jitter, out)
    mq = bridge(broker.port, broker.host, outbox=256, outbox_bytes=32768, seq=None).attach(p)
    mq.seq = Sequence(start=5000)
    mq.seq.boot = 7  # as on a board's 7th boot: the replay must number the same
    g = p.build()
    rec = Recorder(MqttSink(mq, seq=None)).attach(g, bridges=[mq])

    async def main():
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(700)
        done.append(True)  # the sources end, the graph and the bridge run on
        await asyncio.sleep_ms(50)
        rec.close()
        assert await mq.close() == 0
        g.stop()
        await asyncio.sleep_ms(0)
        task.cancel()

    run(main())
    return mq, rec


def test_capture_over_mqtt_replays_with_the_same_payloads(broker):
    for topic in TOPICS + (CAPTURE,):
        broker.watch(topic)
    out = []
    mq, rec = original(broker, out)
    n = rec.records + 2  # the header and the end
    sent = mq.seq.n - 5000
    assert rec.failed == 0 and rec.sink.sent == n and sent > 20
    assert run(until(lambda: len(broker.seen(2)) >= n and len(broker.seen(0)) + len(broker.seen(1)) >= sent))
    records = {}
    for text in broker.seen(2):
        dev, seq, v = JSON.unwrap(text.encode())
        assert dev == "porch-1"
        if isinstance(v, list):  # (a dict read back on MicroPython has an order of its own)
            assert frame.frame(v)[:-10] == text.encode()[text.index(',"v":') + 5:-1]  # the file's bytes
        records[seq] = v
    assert sorted(records) == list(range(n))  # numbered from 0 (seq=None), none lost
    head = records[0]
    assert head["mqtt"] == {"mqtt": [7, 5000]} and records[n - 1]["end"] >= 700
    mq = rec = None

    out2 = []
    p2 = porch(None, None, out2)
    mq2 = bridge(broker.port, broker.host, seq=None).attach(p2)  # never connects: its publishes are kept
    rp = run(replay(p2.build(), [records[i] for i in range(n)], VirtualClock(), bridges=[mq2]))
    assert rp.pushed == n - 2 and len(out) > 40
    assert [line.encode() for line in out2] == [line.encode() for line in out]
    for i, topic in enumerate(TOPICS):
        mine = [payload for _, t, payload in rp.published if t == topic.encode()]
        theirs = [text.encode() for text in broker.seen(i)]
        assert len(theirs) > 10 and mine == theirs, topic
    assert theirs[0].startswith(b'{"dev":"porch-1","boot":7,"seq":')


def test_an_offline_capture_is_bounded_and_counted():
    """Never connected, a full outbox (DROP_NEWEST) refuses capture records: each is
    counted, and a dead letter of the recorder; the records still reach the graph."""
    p = Pipeline("offline")
    p.record("s", int)
    p.source("s")
    seen = []
    p.tap("s", seen.append)
    mq = Bridge("127.0.0.1", "dev", 1, outbox=4, policy=DROP_NEWEST, seq=None, spill=0)  # not running; RAM only
    g = p.build()
    sink = MqttSink(mq, seq=None)
    rec = Recorder(sink).attach(g)

    async def main():
        clock = VirtualClock()
        g.start(clock)
        for i in range(6):
            g.push("s", i)
            await clock.advance(1)
        rec.close()  # its end record is dropped too
        g.push("s", 6)  # after close(): not recorded
        await clock.advance(1)
        g.stop()

    run(main())
    assert seen == list(range(7)) and rec.records == 6
    assert sink.sent == 4 and sink.dropped == 4 and rec.failed == 4  # 3 records and the end
    assert [e[0] for e in g.dead_letters.entries()] == ["recorder"] * 4
    assert "outbox is full" in g.dead_letters.entries()[0][2]
    with raises(ValueError, match="max_line"):
        MqttSink(mq, seq=None, max_line=40).write([0, "s", "x" * 40])


def test_a_transcript_shows_each_publish_where_it_happened():
    """``transcript(..., bridges=)``: a publish is a line where it happened (the bridge's
    taps come first: it was attached first); a payload that is not UTF-8 shows as hex; a
    header without the bridge's numbers: boot 0, seq 0."""
    from rill.io.replay import transcript
    from rill.mqtt import Struct

    p = Pipeline("bin")
    p.record("n", int)
    p.record("twice", int)
    p.source("n")
    p.transform("twice", lambda v: v * 2, "n")
    mq = Bridge("127.0.0.1", "b1", 1, seq=None)
    mq.publish("twice", "b/{device}/twice")
    mq.publish("n", "b/{device}/n", codec=Struct(">h"), envelope=False)
    mq.attach(p)
    lines = transcript(p, [{"capture": "bin"}, [5, "n", 3], [9, "n", -1], {"end": 10}], bridges=[mq])
    twice = '[%d,"publish","b/b1/twice","{\\"dev\\":\\"b1\\",\\"boot\\":0,\\"seq\\":%d,\\"v\\":%d}"]'
    assert lines == ['[5,"publish","b/b1/n","\\u0000\\u0003"]', twice % (5, 0, 6), '[5,"twice",6]',
                     '[9,"publish","b/b1/n",{"hex":"ffff"}]', twice % (9, 1, -2), '[9,"twice",-2]'], lines
