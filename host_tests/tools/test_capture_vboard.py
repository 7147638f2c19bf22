"""Capture on a virtual board, replay on the host: the board runs a pipeline on real time
with random sensor values, read failures and timing jitter, recording into a rotating
file on its flash; the host reads that file from the board's filesystem and replays it
through the same pipeline in virtual time. Every tap's output is identical, byte for
byte. (Integer values: a board's float text can parse to a neighbouring double on
CPython; see README "Reproduce a run".)"""
import asyncio
import os

from rill.io import frame
from rill.io.replay import replay

PIPELINE = """
import json
from rill import Pipeline, Ring
from rill.filters import delta, sliding_window_moving_average

def porch(read, jitter, out):
    p = Pipeline("porch")
    p.record("temp", int)
    p.record("count", int, Ring(16))
    p.record("smooth", int, Ring(16))
    p.record("sum", int, Ring(16))
    p.source("temp", read, every_ms=20, missing=-1, name="sensor")
    p.source("count", task=jitter, name="jitter")
    p.transform("smooth", lambda v: v * 3 // 2, "temp")
    p.transform("sum", lambda s, c: s + c, "smooth", watch="count")
    for key in ("count", "smooth", "sum"):
        p.tap(key, lambda v, k=key: out.append(json.dumps([k, v])))
    return p
"""

ON_BOARD = PIPELINE + """
import asyncio, random
from rill.io.recorder import Recorder
from rill.io.sink import FileSink

reads = [0]

def read():  # random values and gaps; a failure on every 7th read, so the run always has some
    reads[0] += 1
    if reads[0] % 7 == 3:
        raise OSError(5)
    return None if random.getrandbits(4) == 1 else random.getrandbits(12)

async def jitter(emit):
    while True:
        await asyncio.sleep_ms(3 + random.getrandbits(5))
        emit(random.getrandbits(8))

out = []
g = porch(read, jitter, out).build()
rec = Recorder(FileSink("capture.jsonl", max_bytes=1024, keep=12, every=16)).attach(g)

async def main():
    asyncio.create_task(g.run())
    await asyncio.sleep_ms(800)
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
