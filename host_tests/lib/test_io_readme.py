"""docs/evidence.md's examples, run on every runtime by test_examples.py through these
checks: the capture and replay, and a capture kept as a test (the ``replay`` fixture) of a
project made of the template's app."""
import json
import os

import examples
from rill import board as boards
from rill.clock import VirtualClock
from rill.io import frame
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from rill.jsontext import dumps
from testkit import raises, replay_on, run

MP_HEAPSIZE = "256K"  # the template's app: a driver, filters and two graphs


def capture_and_replay(run, code):
    """docs/evidence.md's capture and replay, on a JSONL fixture of four readings."""
    scope = run({"temp.jsonl": '{"t": 0, "v": 20.0}\n{"t": 400, "v": 21.0}\n{"t": 1200, "v": 22.5}\n'
                               '{"t": 2500, "v": 23.0}\n'})
    assert scope["replayed"] == ['[0,"slow",20.0]', '[1200,"slow",22.5]', '[2500,"slow",23.0]']
    assert list(frame.read("run.capture"))[-1] == {"end": 5000} and scope["rec"].records == 4


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


def a_capture_becomes_a_test(run, code):
    """docs/evidence.md's test of a kept capture, in a project made of the template's app:
    it passes on the capture's own transcript, and fails on another."""
    with open(examples.ROOT + "/tools/rill_host/template/app.py") as f:
        source = f.read()
    os.mkdir("tests")
    with open("app.py", "w") as f:
        f.write(source)
    with open("config.json", "w") as f:
        f.write(json.dumps(CONFIG))
    import app

    expected = _field_run(app, CONFIG)
    assert len(expected) > 20
    with open("tests/field.expected", "w") as f:
        f.write("".join(line + "\n" for line in expected))
    scope = run()
    clock = VirtualClock()
    scope["test_field_capture"](replay_on(clock), clock)  # as the fixtures would
    with open("tests/field.expected", "w") as f:
        f.write(expected[0] + "\n")
    other = VirtualClock()
    with raises(AssertionError):
        scope["test_field_capture"](replay_on(other), other)
