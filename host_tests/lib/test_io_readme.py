"""README "Reproduce a run": its examples run, on both runtimes, in folders of their own:
the capture and replay, and a capture kept as a test (the ``replay`` fixture) of a
project made of the template's app."""
import json
import os
import sys
import time

from rill import board as boards
from rill.clock import VirtualClock
from rill.io import frame
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from rill.jsontext import dumps
from testkit import raises, replay_on, run

MP_HEAPSIZE = "256K"  # the template's app: a driver, filters and two graphs
MARK = "<!-- tested: host_tests/lib/test_io_readme.py -->"


def _block(after):
    """The README's first python block after the line starting with ``after``."""
    lines, state = [], 0  # 0: before the line, 1: before the block, 2: in it
    with open("README.md") as f:  # line by line: the whole README is a large block on a small heap
        for line in f:
            if state == 2:
                if line.startswith("```"):
                    break
                lines.append(line)
            elif line.startswith("```python" if state else after):
                state += 1
    return "".join(lines)


def _folder(name):
    """A new folder, made the current one; returns the previous one."""
    home = os.getcwd()
    folder = "/tmp/rill-io-%s-%d" % (name, time.ticks_us())
    os.mkdir(folder)
    os.chdir(folder)
    return home


def _leave(home):
    """Back to ``home``; the folder and all in it removed."""
    folder = os.getcwd()
    os.chdir(home)
    _remove(folder)


def _remove(path):
    for name in os.listdir(path):
        p = path + "/" + name
        if os.stat(p)[0] & 0x4000:  # a folder (CPython's __pycache__)
            _remove(p)
        else:
            os.remove(p)
    os.rmdir(path)


def test_reproduce_a_run_example():
    code = _block(MARK)
    home = _folder("readme")
    try:
        with open("temp.jsonl", "w") as f:
            f.write('{"t": 0, "v": 20.0}\n{"t": 400, "v": 21.0}\n{"t": 1200, "v": 22.5}\n{"t": 2500, "v": 23.0}\n')
        scope = {"__name__": "readme"}
        exec(code, scope)
        assert scope["replayed"] == ['[0,"slow",20.0]', '[1200,"slow",22.5]', '[2500,"slow",23.0]']
        assert list(frame.read("run.capture"))[-1] == {"end": 5000} and scope["rec"].records == 4
    finally:
        _leave(home)


CONFIG = {"board": "RPI_PICO_W", "device": "gh-1", "every_ms": 700, "window": 3,
          "mqtt": {"host": "127.0.0.1", "port": 1883, "topic": "gh/{device}/temp"}}


def _field_run(app, cfg):
    """The app on a simulated board, captured to tests/field.capture; what its
    transforms wrote, as the transcript's lines."""
    clock, lines = VirtualClock(), []
    p = app.pipeline(boards.load(cfg["board"], sim=True, clock=clock), cfg)
    for key in ("temp", "smooth"):
        p.tap(key, lambda v, k=key: lines.append(dumps([clock.now(), k, v])))
    g = p.build()
    rec = Recorder(FileSink("tests/field.capture", clock=clock)).attach(g)

    async def main():
        g.start(clock)
        await clock.advance(10000)
        rec.close()
        g.stop()

    run(main())
    return lines


def test_a_capture_becomes_a_test(replay, clock):
    code = _block("**A capture becomes a test.**")
    with open("tools/rill_host/template/app.py") as f:
        source = f.read()
    home = _folder("fixture")
    os.mkdir("tests")
    sys.path.insert(0, os.getcwd())
    try:
        with open("app.py", "w") as f:
            f.write(source)
        with open("config.json", "w") as f:
            f.write(json.dumps(CONFIG))
        import app

        expected = _field_run(app, CONFIG)
        assert len(expected) > 20
        with open("tests/field.expected", "w") as f:
            f.write("".join(line + "\n" for line in expected))
        scope = {"__name__": "readme"}
        exec(code, scope)
        scope["test_field_capture"](replay, clock)  # the fixture
        with open("tests/field.expected", "w") as f:
            f.write(expected[0] + "\n")
        other = VirtualClock()
        with raises(AssertionError):
            scope["test_field_capture"](replay_on(other), other)
    finally:
        sys.path.pop(0)
        sys.modules.pop("app", None)
        _leave(home)
