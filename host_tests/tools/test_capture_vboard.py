"""Capture on a virtual board, replay on the host: the board runs a pipeline on real time
with random sensor values, read failures and timing jitter, recording into a rotating
file on its flash; the host reads that file from the board's filesystem and replays it
through the same pipeline in virtual time. Every tap's output is identical, byte for
byte. The same with a capture over MQTT, received by ``rill capture``: the host's
replay also gives every payload the board published, byte for byte. (Integer values: a
board's float text can parse to a neighbouring double on CPython; see docs/evidence.md.)"""
import asyncio
import os
import subprocess
import sys

from rill.io import frame
from rill.io.replay import replay

with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "lib", "porch.py")) as f:
    PIPELINE = f.read()  # porch() and bridge(), run on the board and here

SOURCES = """
import asyncio, random
from rill.io.recorder import Recorder

reads = [0]
done = []  # set: the sources stop, the graph runs on

def read():  # random values and gaps; a failure on every 7th read, so the run always has some
    if done:
        return None
    reads[0] += 1
    if reads[0] % 7 == 3:
        raise OSError(5)
    return None if random.getrandbits(4) == 1 else random.getrandbits(12)

async def jitter(emit):
    while not done:
        await asyncio.sleep_ms(3 + random.getrandbits(5))
        emit(random.getrandbits(8))

out = []
"""

ON_BOARD = PIPELINE + SOURCES + """
from rill.io.sink import FileSink

g = porch(read, jitter, out).build()
rec = Recorder(FileSink("capture.jsonl", max_bytes=1024, keep=12, every=16)).attach(g)

async def main():
    asyncio.create_task(g.run())
    await asyncio.sleep_ms(800)
    done.append(1)  # the sources stop; the taps hand over what was written before the end
    await asyncio.sleep_ms(100)
    rec.close()
    g.stop()

asyncio.run(main())
print("records", rec.records, "rotations", rec.sink.rotations, "errors", g.sources[0].errors)
for line in out:
    print(line)
"""


def test_capture_on_a_virtual_board_replays_on_the_host(fresh_vboard):
    b = fresh_vboard("RPI_PICO_W").start()
    r = b.mpremote("exec", ON_BOARD, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    head, *board_out = r.stdout.strip().splitlines()
    _, records, _, rotations, _, errors = head.split()
    assert int(records) > 40 and int(rotations) >= 1 and int(errors) >= 1
    capture = os.path.join(b.fs, "capture.jsonl")
    assert len(frame.paths(capture)) > 1  # segments on the board's flash, all kept
    scope = {}
    exec(PIPELINE, scope)
    host_out = []
    g = scope["porch"](lambda: None, None, host_out).build()
    rp = asyncio.run(replay(g, frame.read(capture)))
    assert rp.pushed == int(records)
    for key in ("count", "smooth", "sum"):
        mine = [line.encode() for line in host_out if line.startswith('["%s"' % key)]
        theirs = [line.encode() for line in board_out if line.startswith('["%s"' % key)]
        assert len(theirs) > 10 and mine == theirs, key


ON_BOARD_MQTT = PIPELINE + SOURCES + """
from rill.io.mqttsink import MqttSink
import gc
from rill.mqtt import Sequence

gc.collect()  # the outbox's arena is the largest block
Sequence(".rill/porch-1.seq")  # an earlier boot (the default store): the run numbers from boot 1, seq 1000
p = porch(read, jitter, out)
mq = bridge(PORT, outbox=48, outbox_bytes=4096).attach(p)
g = p.build()
rec = Recorder(MqttSink(mq)).attach(g, bridges=[mq])

async def main():
    asyncio.create_task(g.run())
    while mq.state != "online":
        await asyncio.sleep_ms(10)
    await asyncio.sleep_ms(800)
    done.append(1)
    await asyncio.sleep_ms(50)
    rec.close()
    left = await mq.close()
    g.stop()
    print("records", rec.records, "published", mq.seq.n - 1000, "boot", mq.seq.boot, "left", left)

asyncio.run(main())
for line in out:
    print(line)
"""
TOPICS = ("porch/porch-1/smooth", "porch/porch-1/sum")


def test_capture_over_mqtt_replays_the_published_payloads(fresh_vboard, broker, tmp_path):
    rill = os.path.join(os.path.dirname(sys.executable), "rill")
    path = str(tmp_path / "run.capture")
    cap = subprocess.Popen([rill, "capture", "--broker", "127.0.0.1:%d" % broker.port, "--device", "porch-1",
                            "--out", path, "--idle", "30"], stderr=subprocess.PIPE, text=True)
    try:
        assert "subscribed" in cap.stderr.readline()
        for topic in TOPICS:
            broker.watch(topic)
        # 168K, not the board's 160K: this script (pipeline, bridge, sources) is compiled on the
        # board from the REPL, which a deployed app (.mpy) never is; it needs 162K on 32 bits
        b = fresh_vboard("RPI_PICO_W", ["--heap", "168K"]).start()
        r = b.mpremote("exec", ON_BOARD_MQTT.replace("PORT", str(broker.port)), timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        _, err = cap.communicate(timeout=40)
    finally:
        if cap.poll() is None:
            cap.kill()
    head, *board_out = r.stdout.strip().splitlines()
    _, records, _, published, _, boot, _, left = head.split()
    assert int(records) > 40 and int(published) > 40 and boot == "1" and left == "0"
    assert cap.returncode == 0 and "to its end" in err and " 0 missing" in err, err
    scope = {}
    exec(PIPELINE, scope)
    host_out = []
    p = scope["porch"](lambda: None, None, host_out)
    mq = scope["bridge"](broker.port, seq=None).attach(p)  # never connects
    rp = asyncio.run(replay(p.build(), frame.read(path), bridges=[mq]))
    assert rp.pushed == int(records)
    assert [line.encode() for line in host_out] == [line.encode() for line in board_out]
    for i, topic in enumerate(TOPICS):
        mine = [payload for _, t, payload in rp.published if t == topic.encode()]
        for _ in range(100):
            theirs = [text.encode() for text in broker.seen(i)]
            if len(theirs) >= len(mine):
                break
            asyncio.run(asyncio.sleep(0.05))
        assert len(theirs) > 10 and mine == theirs, topic
    assert len(rp.published) == int(published) and theirs[0].startswith(b'{"dev":"porch-1","boot":1,"seq":10')
