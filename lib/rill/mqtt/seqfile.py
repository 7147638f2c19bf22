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
        state_dir(path)
        found = [_read(path, i) for i in (0, 1)]
        valid = [s for s in found if isinstance(s, tuple)]
        if len(valid) == 2:
            self.gen, self.boot, limit = max(valid)
            self.n = max(start, limit)
            self.boot += 1
        elif valid:  # the other slot is damaged or gone, and may have been the newest reservation,
            # at most one boot and one block past this one, and used: both skip past it
            self.gen, self.boot, limit = valid[0]
            self.n = max(start, limit + block)
            self.boot += 2
        elif found[1] is None:  # a new store, or its first write (slot 0) cut short: slot 0 first
            _write(self, 0, 0, start)
        else:  # slot 1 without a valid slot 0: numbers were used; which, unknown
            raise SequenceError("sequence store %s is corrupt: refusing to reuse numbers (remove %s.0 and "
                                "%s.1 only if this device's earlier messages may be dropped as duplicates)"
                                % (path, path, path))
        reserve(self)
    self.first = self.n  # this boot's first number (the bridge's birth says it)


def state_dir(path):
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
    _write(self, gen, self.boot, limit)
    self.gen = gen
    self.end = limit


def _write(self, gen, boot, limit):
    head = struct.pack(_FMT, gen, boot, limit)
    self.write("%s.%d" % (self.path, gen & 1), head + struct.pack(">I", _check(head)))


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


def segments(path):
    """The segment numbers of spill log ``path`` on flash, oldest first (rill.mqtt.spill): here,
    beside the other flash state files, so a bridge can look for a previous boot's log
    without loading spill.py (and interning its names for good) when there is none."""
    import os

    i = path.rfind("/")
    folder, base = (path[:i] or "/", path[i + 1:]) if i >= 0 else (".", path)
    found = []
    try:
        names = [e[0] for e in os.ilistdir(folder)] if hasattr(os, "ilistdir") else os.listdir(folder)
    except OSError:  # no folder yet: no log
        return found
    for name in names:
        n = name[len(base) + 1:]
        if name.startswith(base) and name[len(base):len(base) + 1] == "." and n.isdigit():
            found.append(int(n))
    found.sort()
    return found
