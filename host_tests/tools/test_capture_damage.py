"""Captures that cannot lie (issue 18): `rill replay` stops at the first damaged line of
a capture with one sentence naming the file, the line and what is wrong, and exits 1;
`--salvage` replays the good prefix (the same output as the whole capture's, up to
there) and says how much of it was used. Each corruption a capture can suffer is here:
truncated mid-line, a changed byte in a value, in the header and in the end record, a
line without its check, garbage, a binary file, no end record. A damaged header is
never salvaged: it holds the build identity a replay checks."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from rill import identity
from rill.io.frame import frame
from rill_host.evidence.replay import running_identity
from test_capture import original_run

RILL = os.path.join(os.path.dirname(sys.executable), "rill")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A `rill new` project, a capture of its run (one segment), and its whole replay's output."""
    if not os.path.exists(RILL):
        pytest.skip("no rill command beside %s; run 'make setup'" % sys.executable)
    tmp = tmp_path_factory.mktemp("damage")
    folder = tmp / "greenhouse"
    r = subprocess.run([RILL, "new", str(folder), "--board", "RPI_PICO_W"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    spec = importlib.util.spec_from_file_location("damage_app", str(folder / "app.py"))
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    with open(folder / "config.json") as f:
        cfg = json.load(f)
    capture = str(tmp / "good" / "capture.jsonl")
    os.mkdir(tmp / "good")
    original_run(app, cfg, capture, ms=120000)
    with open(capture + ".1", "rb") as f:
        lines = f.read().splitlines(keepends=True)
    head = json.loads(lines[0].split(b"\t")[0])
    head["build"] = identity.short(running_identity(str(folder)))  # as a deployed board's header: no warning
    lines[0] = frame(head)
    with open(capture + ".1", "wb") as f:
        f.write(b"".join(lines))
    whole = replay(folder, capture)
    assert whole.returncode == 0 and whole.stderr == "", whole.stderr
    assert len(lines) > 20
    return folder, lines, whole.stdout.splitlines()


def replay(folder, capture, *extra):
    return subprocess.run([RILL, "replay", capture, "--app", str(folder)] + list(extra), capture_output=True,
                          text=True, timeout=120, cwd=os.path.dirname(capture))


def flip(line, at, bit=1):
    """``line`` with one bit of its byte ``at`` flipped."""
    b = bytearray(line)
    b[at] ^= bit
    return bytes(b)


def _value(lines):
    """(index, damaged line) of a record's value, a digit changed: 20 → 21."""
    i = 12
    head, tail = lines[i].rsplit(b",", 1)
    return i, head + b"," + flip(tail, 0, 1)


# name -> (how to damage the lines, the sentence's line number, what it says, whether salvage works)
CASES = {
    "truncated mid-line": (lambda ls: ls[:40] + [ls[40][:len(ls[40]) // 2]], 41,
                           "is cut short mid-record (no newline at its end): the capture was cut mid-write", True),
    "a changed byte in a value": (lambda ls: ls[:12] + [_value(ls)[1]] + ls[13:], 13,
                                  "its check does not match its bytes (a byte was changed)", True),
    "a changed bit in the header": (lambda ls: [flip(ls[0], 5, 0x20)] + ls[1:], 1,
                                    "its check does not match its bytes (a byte was changed)", False),
    "a changed byte in the end record": (lambda ls: ls[:-1] + [ls[-1].replace(b'"end"', b'"enD"')], "last",
                                         "its check does not match its bytes (a byte was changed)", True),
    "a line without its check": (lambda ls: ls[:7] + [ls[7][:-10] + b"\n"] + ls[8:], 8,
                                 "has no check (a capture line ends in a TAB and its crc32 in 8 hex digits)", True),
    "garbage": (lambda ls: ls[:30] + [b"lorem ipsum dolor sit amet\n"] + ls[30:], 31,
                "is not a capture record (neither JSON nor framed)", True),
    "a binary file": (lambda ls: [bytes(range(256)) * 8], 1,
                      "holds binary data (bytes that are not text): this is not a capture file", False),
    "no end record": (lambda ls: ls[:-1], "last-1",
                      "is the last, and no end record follows: the capture was cut short (its recorder never "
                      "closed, or the file lost its tail)", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_capture_stops_the_replay_in_one_sentence(recorded, tmp_path, case):
    folder, lines, whole = recorded
    damage, line, what, salvageable = CASES[case]
    damaged = damage(list(lines))
    line = {"last": len(lines), "last-1": len(lines) - 1}.get(line, line)
    capture = str(tmp_path / "capture.jsonl")
    with open(capture + ".1", "wb") as f:
        f.write(b"".join(damaged))
    r = replay(folder, capture)
    cut = case == "no end record"  # the last line is whole: it is the end that is missing
    records = line - 1 if cut else line - 2  # the lines before the damaged one (or all), less the header
    used = line if cut else line - 1
    sentence = "rill replay: error: %s.1 line %d: %s" % (capture, line, what)
    if salvageable:
        sentence += "; --salvage replays the %d records %s\n" % (records, "in it." if cut else "before it.")
    else:
        sentence += ("; without a whole header nothing is replayed, not even with --salvage (the header holds the "
                     "build identity a replay checks).\n")
    assert (r.returncode, r.stderr, r.stdout) == (1, sentence, "")
    print("%s: %s" % (case, sentence.strip()))
    s = replay(folder, capture, "--salvage")
    if not salvageable:
        assert (s.returncode, s.stderr, s.stdout) == (1, sentence, "")
        return
    assert s.returncode == 0, s.stderr
    total = len(damaged) if case != "truncated mid-line" else 41
    if cut:
        assert s.stderr == ("rill replay: salvage: replaying all %d records, the capture's %d lines, without an end: "
                            "%s.1 line %d: %s\n" % (records, total, capture, line, what))
    else:
        assert s.stderr == ("rill replay: salvage: replaying %d records, the first %d of the capture's %d lines; the "
                            "rest is left out from %s.1 line %d: %s\n" % (records, used, total, capture, line, what))
    out = s.stdout.splitlines()
    assert out and out == whole[:len(out)]  # the prefix of the whole capture's replay
    print("  --salvage: " + s.stderr.strip())


def test_a_changed_header_does_not_skip_the_build_check(recorded, tmp_path):
    """A capture made by another build warns; the same header with one changed bit is
    not a header without a build (which would replay quietly): it stops the replay."""
    folder, lines, _ = recorded
    head = json.loads(lines[0].split(b"\t")[0])
    head["build"]["lib"] = "0" * 12
    capture = str(tmp_path / "capture.jsonl")
    with open(capture + ".1", "wb") as f:
        f.write(frame(head) + b"".join(lines[1:]))
    r = replay(folder, capture)
    assert r.returncode == 0 and "was made by another build" in r.stderr
    text = frame(head)
    at = text.index(b'"build"') + 1
    with open(capture + ".1", "wb") as f:
        f.write(flip(text, at) + b"".join(lines[1:]))  # "build" -> "cuild": no build any more, were it read
    r = replay(folder, capture, "--salvage")
    assert r.returncode == 1 and "line 1: its check does not match its bytes" in r.stderr and r.stdout == ""


def test_trace_checks_the_capture_too(recorded, tmp_path):
    folder, lines, _ = recorded
    capture = str(tmp_path / "capture.jsonl")
    with open(capture + ".1", "wb") as f:
        f.write(b"".join(lines[:-1]))
    r = subprocess.run([RILL, "trace", capture, '{"dev":"d","seq":1,"v":1,"o":{"t":[1,1]}}'], capture_output=True,
                       text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no end record follows" in r.stderr
    r = subprocess.run([RILL, "trace", capture, '{"dev":"d","seq":1,"v":1,"o":{"t":[1,1]}}', "--salvage"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr.startswith("rill trace: salvage: replaying all %d records" % (len(lines) - 2))


def test_a_whole_capture_in_segments_replays(recorded, tmp_path):
    """Lines are numbered per segment; a capture over several segments is whole."""
    folder, lines, whole = recorded
    capture = str(tmp_path / "capture.jsonl")
    half = len(lines) // 2
    for n, part in ((1, lines[:half]), (2, lines[half:])):
        with open("%s.%d" % (capture, n), "wb") as f:
            f.write(b"".join(part))
    r = replay(folder, capture)
    assert r.returncode == 0 and r.stdout.splitlines() == whole
    os.remove(capture + ".1")  # rotated away: the start is missing
    r = replay(folder, capture)
    assert r.returncode == 1 and r.stderr == (
        "rill replay: error: %s.2 line 1: is not the capture's header ({\"capture\": ...}): the capture's start is "
        "missing; without a whole header nothing is replayed, not even with --salvage (the header holds the build "
        "identity a replay checks).\n" % capture)
