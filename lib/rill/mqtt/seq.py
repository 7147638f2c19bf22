"""Per-device sequence numbers that are never reused, across reboots and power cuts.

With a ``path``, numbers are reserved ``block`` at a time, and each reservation is
written *before* any number of it is used, so a reboot resumes past everything handed
out (some numbers are skipped, none is reused): one small flash write per ``block``
messages and one per boot. ``boot`` counts the boots of that store (the epoch): it goes
into the envelope and the birth message, so a consumer can tell a reboot, and records
lost from RAM at a power cut are attributable to it.

Crash safety: two slot files, ``path.0`` and ``path.1``, written alternately, each 20
bytes (generation, boot, limit, checksum; seqfile.py reads and writes them, loaded only
for that). A power cut while one is written leaves the
other intact; the valid slot with the highest generation wins. A store whose slots are
all corrupt or empty never restarts at 0: it raises ``SequenceError``. (Only a first
write cut short, with no other slot ever written, starts afresh: nothing was used yet.)
Without a path, numbering starts at ``start`` on every boot and ``boot`` is 0.
"""
from . import _prep


class SequenceError(Exception):
    pass


class Sequence:
    def __init__(self, *a, **k):
        """Sequence(path=None, start=0, block=1000); loads the store (seqfile.load)."""
        _prep("seqfile.load", self, *a, **k)

    def write(self, path, data):
        """Write one slot file (seqfile.reserve; a test's power cut replaces it)."""
        with open(path, "wb") as f:
            f.write(data)

    def next(self):
        n = self.n
        if self.end is not None and n >= self.end:
            _prep("seqfile.reserve", self)
        self.n = n + 1
        return n
