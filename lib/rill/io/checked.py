"""A capture read for a replay: every line checked, the first damage named.

    for rec in checked("run.capture"):       # raises Damaged at the first damaged line
        ...
    c = Checked("run.capture", salvage=True)
    recs = list(c)                           # the good prefix; c.error says where it stopped

``rill.io.frame.read`` keeps what a power cut left and skips the rest quietly, which
suits a log. A replay must not run on a capture that lies, so here each line of the
segments (``PATH.1``, ``PATH.2``..., rill.io.frame.paths) must be a whole framed line
whose crc32 matches its bytes and whose JSON is a capture record; the first must be
the header (``{"capture": ...}``), the last the end record (``{"end": t}``), and
nothing follows it. The first line that is not so raises ``Damaged``, a ValueError
whose text is one sentence naming the file, the line and what is wrong, e.g.
``run.capture.1 line 7: its check does not match its bytes (a byte was changed)``.

With ``salvage=True`` it stops there instead: the records before it are the good
prefix, ``error`` holds the Damaged, ``lines`` how many lines were used. A damaged
header is never salvaged (it holds the build identity a replay checks): ``error`` is
set and nothing is yielded.

The check itself costs a board nothing new: every framed line (FileSink, ``rill
capture``) has carried its crc32 all along. Heap (a replay's): a LineReader of
``max_line`` bytes; per record, its bytes and its value.
"""
import json

from .frame import body, paths
from .lines import END, LINE, LONG, LineReader


def _hex(b):
    try:
        int(b, 16)
        return b"-" not in b and b"+" not in b and b" " not in b
    except ValueError:
        return False


class Damaged(ValueError):
    """The first damaged line of a capture: ``path``, ``line`` (from 1), ``what``."""

    def __init__(self, path, line, what):
        super().__init__(("%s line %d: %s" % (path, line, what)) if line else "%s %s" % (path, what))
        self.path = path
        self.line = line
        self.what = what


def fault(line):
    """What is wrong with the line ``line`` (bytes, without its newline) that is not an
    intact frame, in words."""
    n = len(line)
    binary = "holds binary data (bytes that are not text): this is not a capture file"
    if b"\x00" in line:
        return binary
    try:
        str(line, "utf-8")
    except UnicodeError:
        return binary
    if n >= 10 and line[n - 9] == 9 and _hex(line[n - 8:]):
        return "its check does not match its bytes (a byte was changed)"
    try:
        json.loads(line)
    except ValueError:
        return "is not a capture record (neither JSON nor framed)"
    return "has no check (a capture line ends in a TAB and its crc32 in 8 hex digits)"


def _record(value):
    """Whether ``value`` is a capture record [t, key, value(, waiting)]."""
    return (isinstance(value, list) and 3 <= len(value) <= 4 and isinstance(value[0], int)
            and isinstance(value[1], str))


class Checked:
    """The records of the capture at ``path``, checked (see the module): iterate."""

    def __init__(self, path, max_line=512, salvage=False):
        self.path = path
        self.max_line = max_line
        self.salvage = salvage
        self.error = None
        self.records = 0  # records yielded (the header and end included)
        self.lines = 0  # lines read and found good, over all segments
        self.ended = False
        self.cut_short = False  # every line whole, but no end record

    def _damaged(self, path, line, what):
        self.error = Damaged(path, line, what)
        if not self.salvage:
            raise self.error

    def __iter__(self):
        files = paths(self.path)
        if not files:
            self._damaged(self.path, 0, "has no segment (%s.1, %s.2...): there is no capture" % (self.path, self.path))
            return
        last = files[0]
        lineno = 0
        for path in files:
            last = path
            with open(path, "rb") as f:
                r = LineReader(f, self.max_line)
                while True:
                    kind = r.next()
                    if kind == END:
                        break
                    lineno = r.lineno
                    what = None
                    if kind == LONG:
                        what = "is longer than %d bytes: not a capture record" % self.max_line
                    elif kind != LINE:
                        what = "is cut short mid-record (no newline at its end): the capture was cut mid-write"
                    else:
                        data = body(r.line)
                        if data is None:
                            what = fault(bytes(r.line))
                        else:
                            try:
                                value = json.loads(data)
                            except ValueError:
                                what = "has a matching check but its JSON does not parse"
                    if what is None:
                        what = self._order(value)
                    if what is not None:
                        self._damaged(path, lineno, what)
                        return
                    self.lines += 1
                    self.records += 1
                    yield value
        if not lineno:
            self._damaged(last, 0, "is empty: there is no capture in it")
        elif not self.ended:
            self.cut_short = True
            self._damaged(last, lineno, "is the last, and no end record follows: the capture was cut short "
                          "(its recorder never closed, or the file lost its tail)")

    def _order(self, value):
        """What is wrong with ``value`` where it stands, or None."""
        if self.ended:
            return "follows the capture's end record (another capture, or appended data)"
        if self.records == 0:
            if isinstance(value, dict) and "capture" in value:
                return None
            return "is not the capture's header ({\"capture\": ...}): the capture's start is missing"
        if isinstance(value, dict):
            if "end" in value and isinstance(value["end"], int):
                self.ended = True
                return None
            if "capture" in value:
                return "is a second capture header: the capture before it has no end record"
            return "is not a capture record ([t, key, value], or the end record)"
        if not _record(value):
            return "is not a capture record ([t, key, value], or the end record)"
        return None


def checked(path, max_line=512):
    """The checked records of the capture at ``path``: raises Damaged at the first damage."""
    return iter(Checked(path, max_line))
