"""Bounded line reading from a binary file, for fixtures and captures.

A line longer than the buffer is skipped through its newline and reported, so a hostile
or corrupt file never makes an allocation larger than ``max_line``.
"""
from micropython import const

END = const(0)  # no more lines
LINE = const(1)  # ``reader.line`` holds a whole line (without its newline)
LONG = const(2)  # a line longer than max_line, skipped
PARTIAL = const(3)  # the last line, without its newline; ``reader.line`` holds it


class LineReader:
    """Lines of the binary file ``f``, each at most ``max_line`` bytes.

    Heap: one buffer of ``max_line`` + 1 bytes, made once. ``next()`` sets ``line`` to
    a memoryview into that buffer (a small object per line), valid until the next call;
    ``lineno`` counts lines from 1."""

    def __init__(self, f, max_line=256):
        self.f = f
        self.buf = bytearray(max_line + 1)
        self.mv = memoryview(self.buf)
        self.start = self.end = 0
        self.lineno = 0
        self.line = None
        self.eof = False

    def next(self):
        """END, LINE, LONG or PARTIAL (see the constants)."""
        buf, mv = self.buf, self.mv
        skipping = False
        while True:
            i = buf.find(b"\n", self.start, self.end)
            if i >= 0:
                s, self.start = self.start, i + 1
                self.lineno += 1
                if skipping:
                    return LONG
                self.line = mv[s:i]
                return LINE
            if self.eof:
                if self.start == self.end and not skipping:
                    return END
                s, self.start = self.start, self.end
                self.lineno += 1
                if skipping:
                    return LONG
                self.line = mv[s:self.end]
                return PARTIAL
            n = self.end - self.start
            if n == len(buf):  # a full buffer and no newline: the line is too long
                skipping = True
                self.start = self.end = 0
            elif self.start:
                mv[0:n] = mv[self.start:self.end]
                self.start, self.end = 0, n
            got = self.f.readinto(mv[self.end:])
            if got:
                self.end += got
            else:
                self.eof = True
