"""The host side of run evidence: tools/rill_host/evidence/read.py reads a generated file back as
JSONL; `rill replay CAPTURE --app DIR` and the `replay` fixture replay a capture of a
`rill new` project through its pipeline, giving what the original run's transforms wrote
(docs/evidence.md's ``replay`` fixture example runs in host_tests/lib/test_examples.py)."""
import asyncio
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from rill import board
from rill.clock import VirtualClock
from rill.io import frame
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from rill.jsontext import dumps
from tooltest import prog, tool

RILL = os.path.join(os.path.dirname(sys.executable), "rill")


def test_read_capture_as_jsonl(tmp_path):
    path = str(tmp_path / "log")
    sink = FileSink(path, max_bytes=120, keep=3, every=2, clock=VirtualClock())
    for i in range(30):
        sink.write({"i": i, "s": "x\ty"})
    sink.close()
    with open(frame.paths(path)[-1], "ab") as f:
        f.write(b'{"i": 30, "s"')  # a power cut mid-write
    r = tool("read_capture.py", path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [json.loads(line) for line in lines] == list(frame.read(path))
    assert lines[-1] == '{"i":29,"s":"x\\ty"}' and len(lines) < 30  # the oldest rotated away
    assert "0 damaged" in r.stderr
    out = tmp_path / "out.jsonl"
    assert tool("read_capture.py", path, "--out", str(out)).returncode == 0
    assert out.read_text().splitlines() == lines


ERRORS = [("read_capture.py", ["--bogus"]), ("read_capture.py", ["/nonexistent/capture"]),
          ("replay_capture.py", ["--bogus"]), ("replay_capture.py", ["/nonexistent/capture", "--app", "."]),
          ("capture_mqtt.py", ["--bogus"]), ("capture_mqtt.py", ["--device", "d", "--out", "x", "--broker", "nope"]),
          ("capture_mqtt.py", ["--device", "d", "--out", "x", "--broker", "127.0.0.1:1"])]


@pytest.mark.parametrize("name,args", ERRORS, ids=["%s %s" % (n, " ".join(a)) for n, a in ERRORS])
def test_errors_in_one_sentence(name, args):
    r = tool(name, *args)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith(prog(name) + ": error: ")


@pytest.fixture
def project(tmp_path):
    """A `rill new` project (app.py, config.json), and its app module."""
    folder = tmp_path / "greenhouse"
    if not os.path.exists(RILL):
        pytest.skip("no rill command beside %s; run 'make setup'" % sys.executable)
    r = subprocess.run([RILL, "new", str(folder), "--board", "RPI_PICO_W"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    spec = importlib.util.spec_from_file_location("capture_app", str(folder / "app.py"))
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    with open(folder / "config.json") as f:
        return folder, app, json.load(f)


def original_run(app, cfg, capture, ms=20000):
    """The app's pipeline on a simulated board, recorded; what its transforms wrote."""
    clock, lines = VirtualClock(), []
    p = app.pipeline(board.load(cfg["board"], sim=True, clock=clock), cfg)
    for node in [n for n in p.nodes if n.kind == "transform"]:
        p.tap(node.out, lambda v, k=node.out: lines.append(dumps([clock.now(), k, v])))
    g = p.build()
    rec = Recorder(FileSink(capture, max_bytes=1 << 20, clock=clock)).attach(g)

    async def main():
        g.start(clock)
        await clock.advance(ms)
        rec.close()
        g.stop()

    asyncio.run(main())
    assert rec.records > 5 and len(lines) > 5
    return lines


def test_rill_replay_gives_the_original_output(project, tmp_path):
    folder, app, cfg = project
    capture = str(tmp_path / "capture.jsonl")
    lines = original_run(app, cfg, capture)
    r = subprocess.run([RILL, "replay", capture, "--app", str(folder)], capture_output=True, text=True, timeout=120,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert [line.encode() for line in out if ',"publish",' not in line] == [line.encode() for line in lines]
    # the app's bridge publishes each smooth value, numbered from 0 (no numbers in this capture's header)
    topic = cfg["mqtt"]["topic"].replace("{device}", cfg["device"])
    smooth = [json.loads(line) for line in lines if ',"smooth",' in line]
    assert [json.loads(line) for line in out if ',"publish",' in line] == [
        [t, "publish", topic, '{"dev":"%s","boot":0,"seq":%d,"v":%r}' % (cfg["device"], i, v)]
        for i, (t, _, v) in enumerate(smooth)]
    assert not [n for n in os.listdir(str(tmp_path)) + os.listdir(str(folder)) if ".seq." in n]  # no store left
    bad = subprocess.run([RILL, "replay", capture, "--app", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0 and "no app.py" in bad.stderr


def test_rill_capture_writes_each_record_once(broker, tmp_path):
    """`rill capture` de-duplicates by (dev, seq), leaves out what is not the device's
    envelope, counts the gaps, keeps each record's bytes, and stops at the end record."""
    path = str(tmp_path / "run.capture")
    cap = subprocess.Popen([RILL, "capture", "--broker", "127.0.0.1:%d" % broker.port, "--device", "d1",
                            "--out", path, "--idle", "20"], stderr=subprocess.PIPE, text=True)
    try:
        assert "subscribed to rill/d1/capture" in cap.stderr.readline()
        head = '{"capture":"p","sources":{"s":"src"}}'
        for seq, v in ((0, head), (1, '[0,"s","é"]'), (1, '[0,"s","é"]'), (3, '[20,"s",2.50]'), (4, '{"end":30}')):
            broker.publish("rill/d1/capture", '{"dev":"d1","boot":2,"seq":%d,"v":%s}' % (seq, v))
            if seq == 1:
                broker.publish("rill/d1/capture", "not json")
                broker.publish("rill/d1/capture", '{"dev":"d2","boot":0,"seq":2,"v":[1,"s",0]}')
        _, err = cap.communicate(timeout=20)
    finally:
        if cap.poll() is None:
            cap.kill()
    assert cap.returncode == 0, err
    assert "4 records" in err and "to its end" in err and "1 duplicate" in err and "1 missing" in err, err
    assert "2 not an envelope" in err  # "not json", sent with each seq 1
    with open(path + ".1", "rb") as f:
        assert f.read() == b"".join(frame.framed(v.encode()) for v in (head, '[0,"s","é"]', '[20,"s",2.50]',
                                                                      '{"end":30}'))
    assert list(frame.read(path))[2] == [20, "s", 2.5]
    again = tool("capture_mqtt.py", "--broker", "127.0.0.1:%d" % broker.port, "--device", "d1", "--out", path)
    assert again.returncode == 1 and "already holds a capture" in again.stderr


def test_rill_capture_stops_where_another_capture_begins(broker, tmp_path):
    path = str(tmp_path / "cut.capture")
    cap = subprocess.Popen([RILL, "capture", "--broker", "127.0.0.1:%d" % broker.port, "--device", "d1",
                            "--out", path, "--idle", "20"], stderr=subprocess.PIPE, text=True)
    try:
        assert "subscribed" in cap.stderr.readline()
        for seq, v in ((7, '{"capture":"p"}'), (8, '[0,"s",1]'), (9, '{"capture":"p"}'), (10, '[0,"s",2]')):
            broker.publish("rill/d1/capture", '{"dev":"d1","boot":%d,"seq":%d,"v":%s}' % (seq // 9, seq, v))
        _, err = cap.communicate(timeout=20)
    finally:
        if cap.poll() is None:
            cap.kill()
    assert cap.returncode == 0 and "2 records" in err and "a new capture began" in err, err
    assert list(frame.read(path)) == [{"capture": "p"}, [0, "s", 1]]
