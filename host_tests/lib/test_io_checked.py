"""rill.io.checked on both runtimes: a capture's every line is checked; the first
damaged one raises Damaged naming the file and line (a replay fed from it raises it
too, at that record), and ``salvage`` stops there with the good prefix."""
import os
import time

from rill import Pipeline
from rill.clock import VirtualClock
from rill.io.checked import Checked, Damaged, checked
from rill.io.frame import frame
from rill.io.replay import replay
from testkit import raises, run

RECORDS = [{"capture": "c", "sources": {"s": "src"}}, [0, "s", 1], [5, "s", 2], [9, "s", 3, 1], {"end": 12}]


def _capture(lines):
    folder = "/tmp/rill-checked-%d" % time.ticks_us()
    os.mkdir(folder)
    with open(folder + "/cap.1", "wb") as f:
        f.write(b"".join(lines))
    return folder + "/cap"


def _remove(path):
    os.remove(path + ".1")
    os.rmdir(path[:path.rfind("/")])


def _damaged(lines):
    """The Damaged a strict read of ``lines`` raises, and a salvage's (records, lines used)."""
    path = _capture(lines)
    try:
        try:
            list(checked(path))
        except Damaged as e:
            err = e
        else:
            err = None
        c = Checked(path, salvage=True)
        got = list(c)
        assert str(c.error) == str(err)
        return err, got, c.lines
    finally:
        _remove(path)


def test_a_whole_capture_reads_back():
    err, got, used = _damaged([frame(r) for r in RECORDS])
    assert err is None and got == RECORDS and used == 5


def test_each_damage_is_named():
    good = [frame(r) for r in RECORDS]
    changed = bytearray(good[2])
    changed[4] ^= 1
    cases = [
        (good[:2] + [good[2][:7]], 3, "is cut short mid-record (no newline at its end): the capture was cut mid-write"),
        (good[:2] + [bytes(changed)] + good[3:], 3, "its check does not match its bytes (a byte was changed)"),
        (good[:1] + [good[1][:-10] + b"\n"] + good[2:], 2, "has no check (a capture line ends in a TAB and its crc32 "
                                                           "in 8 hex digits)"),
        (good[:3] + [b"\x00\x01\xfe\n"] + good[3:], 4, "holds binary data (bytes that are not text): this is not a "
                                                       "capture file"),
        (good[:3] + [b"hello\n"] + good[3:], 4, "is not a capture record (neither JSON nor framed)"),
        (good[1:], 1, "is not the capture's header ({\"capture\": ...}): the capture's start is missing"),
        (good + good[:1], 6, "follows the capture's end record (another capture, or appended data)"),
        (good[:2] + [frame([1, 2])] + good[2:], 3, "is not a capture record ([t, key, value], or the end record)"),
        (good[:-1], 4, "is the last, and no end record follows: the capture was cut short (its recorder never "
                       "closed, or the file lost its tail)"),
    ]
    for lines, line, what in cases:
        err, got, used = _damaged(lines)
        assert err is not None and err.line == line and err.what == what, (line, what, err)
        assert str(err).endswith("/cap.1 line %d: %s" % (line, what))
        cut = what.startswith("is the last")
        assert used == (line if cut else line - 1) and got == [RECORDS[i] for i in range(used)] if line > 1 or cut \
            else got == []


def test_a_replay_stops_at_the_damaged_record():
    good = [frame(r) for r in RECORDS]
    path = _capture(good[:3] + [b"garbage\n"] + good[3:])
    seen = []
    p = Pipeline("c")
    p.record("s", int)
    p.source("s")
    p.tap("s", seen.append)
    try:
        with raises(Damaged, match="line 4: is not a capture record"):
            run(replay(p.build(), checked(path), VirtualClock()))
        assert seen == [1, 2]  # the records before it were replayed
    finally:
        _remove(path)
