"""rill.io.sink and rill.io.frame: batched, rotating, size-capped files that survive a
power cut at any byte."""
import os
import time

from rill import Pipeline
from rill.clock import VirtualClock
from rill.io import frame
from rill.io.sink import FileSink
from testkit import raises, run


def _path(name):
    """``name`` in a new folder of its own (segments are found by listing the folder)."""
    folder = "/tmp/rill-io-%d" % time.ticks_us()
    os.mkdir(folder)
    return folder + "/" + name


def _cleanup(path):
    for p in frame.paths(path):
        os.remove(p)
    os.rmdir(path[:path.rfind("/")])


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _put(path, data):
    with open(path, "wb") as f:
        f.write(data)


RECORDS = [{"t": 0, "v": 21.5}, [1, "temp", -3], "tab\there", None, 12345678901, {"nested": {"a": [True, False]}}]


def test_round_trip_and_batching():
    path = _path("batch")
    try:
        sink = FileSink(path, every=4, flush_ms=60000, clock=VirtualClock())
        for r in RECORDS[:3]:
            sink.write(r)
        assert list(frame.read(path)) == []  # three wait in RAM
        sink.write(RECORDS[3])  # the fourth flushes all four in one write
        assert sink.flushes == 1 and list(frame.read(path)) == RECORDS[:4]
        for r in RECORDS[4:]:
            sink.write(r)
        sink.close()
        assert list(frame.read(path)) == RECORDS and sink.flushes == 2 and sink.stats()["written"] == 6
    finally:
        _cleanup(path)


def test_flush_after_flush_ms_whichever_first():
    path = _path("timer")
    clock = VirtualClock()
    sink = FileSink(path, every=100, flush_ms=1000, clock=clock)

    async def main():
        sink.write(1)
        await clock.advance(999)
        sink.write(2)
        assert sink.flushes == 0
        await clock.advance(1)
        sink.write(3)  # the oldest has waited flush_ms: this write flushes all three
        assert sink.flushes == 1 and list(frame.read(path)) == [1, 2, 3]
        sink.write(4)  # no record follows: run()'s timer flushes it
        task = __import__("asyncio").create_task(sink.run())
        await clock.advance(999)
        assert sink.flushes == 1
        await clock.advance(1001)
        assert sink.flushes == 2
        task.cancel()

    try:
        run(main())
        assert list(frame.read(path)) == [1, 2, 3, 4]
    finally:
        _cleanup(path)


def test_power_cut_at_every_byte():
    """Cut the file at every offset of a write: it reads back to its last complete record;
    after the reboot the sink appends and the torn line is skipped, never misread."""
    path = _path("cut")
    try:
        sink = FileSink(path, every=len(RECORDS), clock=VirtualClock())
        for r in RECORDS:
            sink.write(r)
        seg = frame.paths(path)[-1]
        assert seg == path + ".1"
        whole = _bytes(seg)
        ends = [i + 1 for i in range(len(whole)) if whole[i] == 10]
        assert len(ends) == len(RECORDS)
        for cut in range(len(whole) + 1):
            _put(seg, whole[:cut])
            complete = len([e for e in ends if e - 1 <= cut])  # all but the newline: whole
            assert list(frame.read(path)) == RECORDS[:complete], cut
            after = FileSink(path, every=1, clock=VirtualClock())  # the reboot
            after.write("after")
            assert list(frame.read(path)) == RECORDS[:complete] + ["after"], cut
    finally:
        _cleanup(path)


def test_corrupt_and_too_long_lines_are_skipped_and_counted():
    path = _path("bad")
    try:
        good = frame.frame(1)
        flipped = frame.frame(2).replace(b"2", b"3", 1)  # checksum no longer matches
        _put(path + ".1", good + flipped + b"x" * 600 + b"\n" + b"no frame\n" + good + b"torn")
        with open(path + ".1", "rb") as f:
            frames = frame.Frames(f, max_line=64)
            assert list(frames.records()) == [1, 1]
        assert frames.skipped == 3
    finally:
        _cleanup(path)


def test_rotation_caps_the_size():
    path = _path("rot")
    try:
        sink = FileSink(path, max_bytes=200, keep=2, every=2, clock=VirtualClock())
        for i in range(200):
            sink.write([i, "x"])
        sink.close()
        files = frame.paths(path)
        n = sink.seq
        assert n > 10 and files == [path + ".%d" % i for i in (n - 2, n - 1, n)]  # keep=2 before the newest
        assert all(os.stat(p)[6] <= 200 for p in files)
        got = list(frame.read(path))
        assert got[-1] == [199, "x"] and [r[0] for r in got] == list(range(got[0][0], 200))
        assert sink.rotations == n - 1
        _put(path + ".%d" % (n - 3), frame.frame("stale"))  # as a cut mid-rotation leaves it
        again = FileSink(path, max_bytes=200, keep=2, every=1, clock=VirtualClock())  # after a reboot
        assert frame.paths(path) == files  # the segment beyond keep is gone
        again.write("more")
        assert again.seq >= n and list(frame.read(path))[-2:] == [[199, "x"], "more"]
    finally:
        _cleanup(path)


def test_a_record_too_long_is_the_taps_dead_letter():
    path = _path("long")
    try:
        sink = FileSink(path, every=1, max_line=32, clock=VirtualClock())
        with raises(ValueError, match="longer than max_line"):
            sink.write("y" * 40)
        p = Pipeline("sinktap")
        p.record("s", str)
        p.source("s")
        p.tap("s", sink.write, name="file")
        g = p.build()

        async def main():
            g.start(VirtualClock())
            g.push("s", "z" * 40)
            await __import__("asyncio").sleep_ms(0)
            g.push("s", "ok")
            await __import__("asyncio").sleep_ms(0)
            g.stop()

        run(main())
        assert sink.refused == 2 and list(frame.read(path)) == ["ok"]
        name, _, reason = g.dead_letters.entries()[0]
        assert name == "file" and "max_line" in reason
    finally:
        _cleanup(path)


def test_a_failed_write_keeps_the_batch_and_drops_what_finds_it_full():
    path = _path("fail")
    folder = path[:path.rfind("/")]
    sink = FileSink(path, every=2, clock=VirtualClock())
    sink.write(1)
    os.rmdir(folder)  # the flash is gone: the flush cannot open the file
    with raises(OSError):
        sink.write(2)
    with raises(OSError):
        sink.write(3)  # the batch is full and still cannot be written: 3 is dropped
    assert sink.dropped == 1 and sink.stats()["waiting"] == 2
    os.mkdir(folder)
    sink.write(4)  # the retry writes 1 and 2, then 4 waits
    sink.close()
    try:
        assert list(frame.read(path)) == [1, 2, 4] and sink.written == 3
    finally:
        _cleanup(path)


def test_a_value_json_cannot_hold_is_refused_or_skipped():
    """CPython's json.dumps refuses an object; MicroPython's writes "<object>", which the
    reader skips and counts. Either way the records around it read back."""
    path = _path("refuse")
    try:
        sink = FileSink(path, every=1, clock=VirtualClock())
        sink.write(1)
        try:
            sink.write(object())
            refused = False
        except TypeError:
            refused = True
        sink.write(2)
        assert list(frame.read(path)) == [1, 2]
        with open(frame.paths(path)[0], "rb") as f:
            frames = frame.Frames(f)
            assert list(frames.records()) == [1, 2]
        assert (sink.refused, frames.skipped) == ((1, 0) if refused else (0, 1))
    finally:
        _cleanup(path)


def test_a_record_frames_to_the_same_bytes_on_both_runtimes():
    """Compact JSON, text as UTF-8 and control characters as MicroPython writes them
    (rill.jsontext): the one literal below holds on CPython and on the unix port."""
    record = [12, "temp", {"s": "é ü\b\f\x01\t\"\\b"}, [True, None, -3, 12345678901]]  # one key: dict order
    line = frame.frame(record)
    body = '[12,"temp",{"s":"é ü\\u0008\\u000c\\u0001\\t\\"\\\\b"},[true,null,-3,12345678901]]'.encode()
    assert line[:-10] == body, line
    assert line == frame.framed(body) and list(frame.Frames(_Lines([line])).records()) == [record]


class _Lines:
    """A file of ``lines`` (bytes), for Frames."""

    def __init__(self, lines):
        self.data = b"".join(lines)

    def readinto(self, buf):
        n = min(len(buf), len(self.data))
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n
