"""`rill trace`: the source records behind a published message (its "o") or behind the
N-th value of a record in a replay of the capture, with the path through the app."""
import asyncio
import json

from rill import Pipeline, Ring
from rill.clock import VirtualClock
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from tooltest import tool

APP = '''from rill import Pipeline, Ring
from rill.filters import sliding_window_moving_average


def pipeline(board, cfg):
    p = Pipeline("porch")
    p.record("raw", float)
    p.record("avg", float, Ring(8))
    p.source("raw", name="thermometer")
    p.transform("avg", sliding_window_moving_average(2, 2, 2), "raw", name="pairs")
    return p
'''


def project(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text(APP)
    (app / "config.json").write_text(json.dumps({"board": "RPI_PICO"}))
    cap = str(tmp_path / "run.capture")
    clock = VirtualClock()
    p = Pipeline("porch")
    p.record("raw", float)
    p.record("avg", float, Ring(8))
    p.source("raw")
    g = p.build()
    rec = Recorder(FileSink(cap, clock=clock)).attach(g)

    async def main():
        g.start(clock)
        for i in range(1, 7):
            g.push("raw", i * 1.5)
            await clock.advance(100)
        rec.close()
        g.stop()

    asyncio.run(main())
    return str(app), cap


def test_trace_a_replayed_value_back_to_its_source_records(tmp_path):
    app, cap = project(tmp_path)
    r = tool("trace.py", cap, "avg#2", "--app", app)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "avg #2 = 5.25", lines  # (4.5 + 6.0) / 2
    assert "  avg <- pairs(raw)" in lines and "    raw <- source thermometer" in lines, lines
    assert "raw #3..#4 (2 records in the capture):" in lines, lines
    assert "  #3  t=200 ms  4.5" in lines and "  #4  t=300 ms  6.0" in lines, lines


def test_trace_a_published_message(tmp_path):
    app, cap = project(tmp_path)
    msg = json.dumps({"dev": "porch1", "boot": 0, "seq": 9, "v": 8.25, "o": {"raw": [5, 6]}})
    r = tool("trace.py", cap, msg)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "message dev=porch1 seq=9 v=8.25"
    assert lines[1:] == ["raw #5..#6 (2 records in the capture):", "  #5  t=400 ms  7.5", "  #6  t=500 ms  9.0"]


def test_trace_says_what_is_wrong_in_one_sentence(tmp_path):
    app, cap = project(tmp_path)
    for args, want in [
        ((cap, "avg"), "neither a JSON message nor KEY#N"),
        ((cap, '{"v": 1}'), "no origin"),
        ((cap, "avg#2"), "needs --app"),
        ((cap, "nope#1", "--app", app), "no record 'nope'"),
        ((cap, "avg#9", "--app", app), "written 3 time(s) in the replay, not 9"),
        ((str(tmp_path / "none"), "avg#1", "--app", app), "no capture at"),
    ]:
        r = tool("trace.py", *args)
        assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
