"""rill.io.source: JSONL and CSV fixtures as sources, timed or as fast as possible; a bad
line is a dead letter with its line number, and never stops the source."""
import asyncio
import os
import time

from rill import BLOCK, Pipeline, Queue, Ring
from rill.clock import VirtualClock
from rill.io.source import FileSource
from testkit import run


def _fixture(name, data):
    path = "/tmp/rill-io-%d-%s" % (time.ticks_us(), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _run(src, ms, buffer=None):
    """[(ms, value)] that ``src`` emitted in ``ms`` of virtual time, and the graph."""
    clock = VirtualClock()
    seen = []
    p = Pipeline("fixture")
    p.record("in", object, buffer)
    p.source("in", task=src, name="file")
    p.tap("in", lambda v: seen.append((clock.now(), v)))
    g = p.build()

    async def main():
        g.start(clock)
        await clock.advance(ms)
        for _ in range(40):
            await asyncio.sleep_ms(0)
        g.stop()

    run(main())
    return seen, g


def test_jsonl_at_the_recorded_timing():
    path = _fixture("timed.jsonl", b'{"t": 0, "v": 1}\n{"t": 1500, "v": 2.5}\n{"t": 1600, "v": \n\n'
                                   b'{"v": 9}\n{"t": 3000, "v": {"a": [1]}}\n')
    try:
        src = FileSource(path, value="v")
        seen, g = _run(src, 2999)
        assert seen == [(0, 1), (1500, 2.5)]
        seen, g = _run(FileSource(path, value="v"), 10000)
        assert seen == [(0, 1), (1500, 2.5), (3000, {"a": [1]})]
        letters = g.dead_letters.entries()
        assert [(n, v) for n, v, _ in letters] == [("file", 3), ("file", 5)]
        assert "line 3" in letters[0][2] and "no integer 't' field" in letters[1][2]
        assert g.stats is not None and g.sources[0].errors == 2
    finally:
        os.remove(path)


def test_csv_as_fast_as_possible_with_backpressure():
    rows = b"t,temp,hum\n0,21.5,40\n10,21.6\n20,x,41\n" + b"30,1,2\n" * 20
    path = _fixture("fast.csv", rows)
    try:
        src = FileSource(path, timed=False)
        seen, g = _run(src, 0, Queue(4, BLOCK))  # the source waits for room: nothing dropped
        assert seen[0] == (0, {"t": 0, "temp": 21.5, "hum": 40}) and seen[1] == (0, {"t": 20, "temp": "x", "hum": 41})
        assert len(seen) == 22 and all(t == 0 for t, _ in seen)  # no virtual time passed
        assert src.emitted == 22 and src.malformed == 1 and g.records["in"].dropped == 0
        name, line, reason = g.dead_letters.entries()[0]
        assert (name, line) == ("file", 3) and "2 cells, the header has 3" in reason
    finally:
        os.remove(path)


def test_a_huge_line_is_a_dead_letter_not_an_allocation():
    """A 1 MB line (over this MicroPython heap) with max_line 64: skipped, reported, and
    the lines after it still arrive."""
    path = _fixture("huge.jsonl", b'{"t": 0, "v": 1}\n')
    try:
        with open(path, "ab") as f:
            chunk = b"7" * 4096
            for _ in range(256):
                f.write(chunk)
            f.write(b'\n{"t": 5, "v": 2}\n{"t": 6, "v": 3}')  # the last line has no newline
        src = FileSource(path, value="v", max_line=64)
        seen, g = _run(src, 100, Ring(4))
        assert seen == [(0, 1), (5, 2), (6, 3)]
        assert src.malformed == 1 and "line 2: longer than max_line 64" in g.dead_letters.entries()[0][2]
    finally:
        os.remove(path)
