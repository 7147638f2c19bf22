"""Per-device sequence numbers that are never reused, across reboots and power cuts.

With a ``path``, numbers are reserved ``block`` at a time, and each reservation is
written *before* any number of it is used, so a reboot resumes past everything handed
out (some numbers are skipped, none is reused): one small flash write per ``block``
messages and one per boot. ``boot`` counts the boots of that store (the epoch): it goes
into the envelope and the birth message, so a consumer can tell a reboot, and records
lost from RAM at a power cut are attributable to it.

Crash safety: two slot files, ``path.0`` and ``path.1``, written alternately, each 20
bytes (generation, boot, limit, checksum; seqfile.py reads and writes them, loaded only
for that). A new store writes slot 0 (boot 0, no number reserved) before slot 1's first
reservation, so from then on both exist. Both valid: the higher generation wins. One
valid, the other damaged (truncated, garbage, empty, missing; or a write the power cut
short): the damaged one may have been the newest reservation, used, so the store resumes
two boots and one block past the valid one: a boot number and numbers no earlier boot
used. No valid slot: the store raises ``SequenceError`` and the bridge does not start
(only slot 0 cut short with no slot 1, the new store's first write, starts afresh:
nothing was used yet). (A ``block`` made larger between boots defeats the one-block skip.)
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
