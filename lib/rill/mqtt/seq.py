"""Per-device sequence numbers that only ever increase, across reboots too.

Without a file, numbering starts at ``start`` on every boot (fine for tests, not for
consumers that de-duplicate across reboots). With ``path``, a high-water mark is
written every ``block`` numbers *before* any of them is used; after a reboot numbering
resumes at the mark: some numbers are skipped, none is reused. That is one small
flash write per ``block`` messages.
"""


class Sequence:
    def __init__(self, path=None, start=0, block=1000):
        self.path = path
        self.block = block
        self.n = start
        self._limit = None
        if path is not None:
            try:
                with open(path) as f:
                    self.n = max(start, int(f.read().strip() or 0))
            except (OSError, ValueError):
                pass
            self._limit = self.n
            self._reserve()

    def _reserve(self):
        self._limit = self.n + self.block
        with open(self.path, "w") as f:
            f.write(str(self._limit))

    def next(self):
        n = self.n
        if self._limit is not None and n >= self._limit:
            self._reserve()
        self.n = n + 1
        return n
