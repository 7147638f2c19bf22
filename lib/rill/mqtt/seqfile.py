"""The sequence store's files (seq.py has the rules): loaded by ``rill.mqtt._prep`` for a
Sequence's construction and for each reservation (every ``block`` numbers), and unloaded
after, so a running bridge keeps none of it.

Two slots, ``path.0`` and ``path.1``, written alternately, each 20 bytes: generation,
boot and limit (``>IIQ``), then a checksum of those 16 bytes (``>I``).
"""
import struct

from .seq import SequenceError

_FMT = ">IIQ"  # generation, boot, limit


def _check(data):
    c = 0x5EED
    for x in data:
        c = (c * 31 + x) & 0xFFFFFFFF
    return c


def load(self, path=None, start=0, block=1000):
    """Sequence(path=None, start=0, block=1000): resume past the store's last reservation."""
    self.path = path
    self.block = block
    self.n = start
    self.boot = 0
    self.gen = 0
    self.end = None
    if path is not None:
        _state_dir(path)
        found = [_read(path, i) for i in (0, 1)]
        valid = [s for s in found if isinstance(s, tuple)]
        if valid:
            self.gen, self.boot, limit = max(valid)
            self.n = max(start, limit)
            self.boot += 1
        elif found[0] is not None and found[1] is not None:
            raise SequenceError("sequence store %s is corrupt: refusing to reuse numbers (remove %s.0 and "
                                "%s.1 to start again at 0)" % (path, path, path))
        reserve(self)


def _state_dir(path):
    """The folder of a state file (``.rill/``), made when missing (one level: a missing
    parent is the caller's OSError)."""
    d = path.rpartition("/")[0]
    if d:
        import os

        try:
            os.mkdir(d)
        except OSError:  # there already, or no filesystem (then the open fails and says so)
            pass


def reserve(self):
    """Reserve the next ``block`` numbers: the other slot written (Sequence.write) before
    any of them is used."""
    gen = self.gen + 1
    limit = self.n + self.block
    head = struct.pack(_FMT, gen, self.boot, limit)
    self.write("%s.%d" % (self.path, gen & 1), head + struct.pack(">I", _check(head)))
    self.gen = gen
    self.end = limit


def _read(path, i):
    """(gen, boot, limit) of slot ``i``; None if absent, False if corrupt or empty."""
    try:
        with open("%s.%d" % (path, i), "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) != 20 or struct.unpack(">I", data[16:])[0] != _check(data[:16]):
        return False
    return struct.unpack(_FMT, data[:16])
