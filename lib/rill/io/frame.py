"""Framing for generated files: one record per line, ``JSON<TAB>crc32 in 8 hex digits\\n``.

A power cut can leave the file's last line torn at any byte. ``records()`` keeps only
lines that end in a newline and whose checksum matches, so a file cut anywhere reads
back as the records written before the cut. A torn line followed by more records (the
sink starts a new line after a reboot) is skipped and counted, never misread.
Needs ``binascii.crc32`` (in MicroPython's ESP32, RP2040 and unix ports).
"""
import json
from binascii import crc32

from ..jsontext import dumps
from .lines import END, LINE, LONG, PARTIAL, LineReader


def frame(value):
    """The framed line for ``value``, as bytes: compact JSON, the same bytes on both
    runtimes (rill.jsontext). Heap: the JSON text, twice (str, bytes)."""
    return framed(dumps(value).encode())


def framed(body):
    """The framed line for the JSON bytes ``body`` (e.g. one that came over MQTT)."""
    return b"%s\t%08x\n" % (body, crc32(body) & 0xFFFFFFFF)


def body(line):
    """The JSON bytes of one framed line (bytes or memoryview, without its newline), or
    None if it is not an intact frame."""
    n = len(line)
    if n < 10 or line[n - 9] != 9:  # 9: TAB
        return None
    data = bytes(line)
    try:
        crc = int(data[n - 8:], 16)
    except ValueError:
        return None
    if crc32(data[:n - 9]) & 0xFFFFFFFF != crc:
        return None
    return data[:n - 9]


class Frames:
    """The intact records of one framed file ``f`` (opened "rb"), in order.

    ``bodies()`` yields each record's JSON bytes, ``records()`` its value. ``skipped``
    counts torn, corrupt or too-long lines (not a torn last line: it is the write a
    power cut interrupted; cut just before its newline, a record is whole and kept). Heap: a LineReader of
    ``max_line`` bytes; per record, its bytes and its value."""

    def __init__(self, f, max_line=512):
        self.reader = LineReader(f, max_line)
        self.skipped = 0

    def bodies(self):
        r = self.reader
        while True:
            kind = r.next()
            if kind == END:
                return
            if kind == LINE or kind == PARTIAL:
                data = body(r.line)
                if data is not None:
                    yield data
                    continue
            if kind == LINE or kind == LONG:
                self.skipped += 1

    def records(self):
        """The values; an intact line that is not JSON (MicroPython's ``json.dumps``
        writes an object, NaN or a set as text JSON cannot read) is skipped and counted."""
        for data in self.bodies():
            try:
                value = json.loads(data)
            except ValueError:  # CPython's JSONDecodeError is one
                self.skipped += 1
                continue
            yield value


def paths(path):
    """The segment files of ``path`` that exist, oldest first: ``path.1``, ``path.2``...
    (a FileSink numbers its segments upwards and removes the oldest)."""
    import os

    i = path.rfind("/")
    folder, base = (path[:i] or "/", path[i + 1:]) if i >= 0 else (".", path)
    try:
        names = (e[0] for e in os.ilistdir(folder))  # MicroPython: no list of the whole folder
    except AttributeError:
        names = os.listdir(folder)
    found = []
    for name in names:
        n = name[len(base) + 1:]
        if name.startswith(base) and name[len(base):len(base) + 1] == "." and n.isdigit():
            found.append(int(n))
    found.sort()
    return ["%s.%d" % (path, n) for n in found]


def read(path, max_line=512):
    """Every intact record of the segments of ``path`` (see ``paths``), oldest first,
    as a generator. No segment reads as empty."""
    for p in paths(path):
        try:
            f = open(p, "rb")
        except OSError:
            continue
        try:
            for value in Frames(f, max_line).records():
                yield value
        finally:
            f.close()
