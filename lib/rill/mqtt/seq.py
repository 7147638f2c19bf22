"""Per-device sequence numbers that are never reused, across reboots and power cuts.

With a ``path``, numbers are reserved ``block`` at a time, and each reservation is
written *before* any number of it is used, so a reboot resumes past everything handed
out (some numbers are skipped, none is reused): one small flash write per ``block``
messages and one per boot. ``boot`` counts the boots of that store (the epoch): it goes
into the envelope and the birth message, so a consumer can tell a reboot, and records
lost from RAM at a power cut are attributable to it.

Crash safety: two slot files, ``path.0`` and ``path.1``, written alternately, each 20
bytes (generation, boot, limit, checksum). A power cut while one is written leaves the
other intact; the valid slot with the highest generation wins. A store whose slots are
all corrupt or empty never restarts at 0: it raises ``SequenceError``. (Only a first
write cut short, with no other slot ever written, starts afresh: nothing was used yet.)
Without a path, numbering starts at ``start`` on every boot and ``boot`` is 0.
"""
import struct

from . import _prep

_FMT = ">IIQ"  # generation, boot, limit


class SequenceError(Exception):
    pass


def _check(data):
    c = 0x5EED
    for x in data:
        c = (c * 31 + x) & 0xFFFFFFFF
    return c


class Sequence:
    def __init__(self, *a, **k):
        """Sequence(path=None, start=0, block=1000); loads the store (prep.sequence)."""
        _prep("sequence", self, *a, **k)

    def _write(self, path, data):
        with open(path, "wb") as f:
            f.write(data)

    def _reserve(self):
        gen = self.gen + 1
        limit = self.n + self.block
        head = struct.pack(_FMT, gen, self.boot, limit)
        self._write("%s.%d" % (self.path, gen & 1), head + struct.pack(">I", _check(head)))
        self.gen = gen
        self._limit = limit

    def next(self):
        n = self.n
        if self._limit is not None and n >= self._limit:
            self._reserve()
        self.n = n + 1
        return n
