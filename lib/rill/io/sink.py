"""``FileSink``: a tap that appends records to size-capped segment files, e.g. on flash.

    sink = FileSink("log.jsonl", max_bytes=16384, keep=1, every=16, flush_ms=5000)
    p.tap("smooth", sink.write)
    g.start(); g.spawn(sink.run(g.clock))        # the flush_ms timer when records stop

Each record is one framed line (rill.io.frame: ``JSON<TAB>crc32\\n``), so after a power
cut at any byte the file reads back (``rill.io.frame.read``) to its last complete
record.

Flash-wear policy: records wait in RAM and are written in one open-append-close when
``every`` records are waiting or the oldest has waited ``flush_ms``, whichever comes
first (checked at each write, and by ``run()`` when no records come). ``close()``
writes what waits. A power cut loses at most those waiting records.

Size cap: the records go to segment files ``path.1``, ``path.2``, ... When the next
batch would take the newest past ``max_bytes``, a new segment starts and all but the
``keep`` segments before it are removed: the files never hold more than (keep + 1) x
max_bytes (a batch larger than max_bytes gets a segment of its own). No file is ever
renamed, so a rotation is one create and one remove, whatever the filesystem. A sink
opened on existing segments appends to the newest (after a reboot).

Heap: ``every`` list slots, made once; per record its framed line (JSON text + 10
bytes), held until the flush. A record whose line is longer than ``max_line`` is
refused (``refused`` counts it, the raise makes it the tap's dead letter).
"""
import os

from .frame import frame, paths


class FileSink:
    def __init__(self, path, max_bytes=16384, keep=1, every=16, flush_ms=5000, max_line=512, clock=None):
        if clock is None:
            from .. import graph as clock  # the real clock
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.every = every
        self.flush_ms = flush_ms
        self.max_line = max_line
        self.clock = clock
        self._pending = [None] * every
        self._n = 0
        self._first = 0
        self.written = self.refused = self.dropped = self.flushes = self.rotations = 0
        self._torn = False
        segments = paths(path)
        self.seq = int(segments[-1][len(path) + 1:]) if segments else 1
        self.current = "%s.%d" % (path, self.seq)
        self._prune()  # a cut between a rotation's create and remove left one too many
        self.size = self._open_size()

    def _open_size(self):
        """The newest segment's size; a torn last line (a power cut) is ended with a
        newline first, so that the next record starts a line of its own."""
        try:
            size = os.stat(self.current)[6]
        except OSError:
            return 0
        if size:
            with open(self.current, "rb") as f:
                f.seek(size - 1)
                last = f.read(1)
            if last != b"\n":
                with open(self.current, "ab") as f:
                    f.write(b"\n")
                size += 1
        return size

    def write(self, value):
        """The tap: frame ``value`` and queue it; flush per the policy. A value JSON
        cannot hold, or too long a line, is refused (counted, raised). While the file
        cannot be written (a flush raised, say the flash is full), the batch waits for
        the next write to retry it, and records that find it full are dropped (counted,
        raised): never an unbounded queue."""
        try:
            line = frame(value)
        except Exception:
            self.refused += 1
            raise
        if len(line) > self.max_line:
            self.refused += 1
            raise ValueError("record of %d bytes is longer than max_line %d" % (len(line), self.max_line))
        if self._n >= self.every:  # the last flush failed: retry it first
            try:
                self.flush()
            except Exception:
                self.dropped += 1
                raise
        now = self.clock.now()
        if self._n == 0:
            self._first = now
        self._pending[self._n] = line
        self._n += 1
        if self._n >= self.every or self.clock.diff(now, self._first) >= self.flush_ms:
            self.flush()

    def flush(self):
        """Write the waiting records, in one open-append-close; rotate first if needed.
        If a write fails, the records not yet written wait for the next flush, which
        first ends the torn line with a newline."""
        n = self._n
        if not n:
            return
        pending = self._pending
        total = 0
        for i in range(n):
            if pending[i] is not None:
                total += len(pending[i])
        if self.size and self.size + total > self.max_bytes:
            self._rotate()
        with open(self.current, "ab") as f:
            if self._torn:
                f.write(b"\n")
                self.size += 1
                self._torn = False
            for i in range(n):
                line = pending[i]
                if line is not None:
                    self._torn = True
                    f.write(line)
                    self._torn = False
                    pending[i] = None
                    self.size += len(line)
                    self.written += 1
        self._n = 0
        self.flushes += 1

    def _rotate(self):
        """Start segment seq + 1; remove those older than the ``keep`` before it."""
        self.seq += 1
        self.current = "%s.%d" % (self.path, self.seq)
        self._prune()
        self.size = 0
        self.rotations += 1

    def _prune(self):
        for old in paths(self.path):
            if int(old[len(self.path) + 1:]) < self.seq - self.keep:
                os.remove(old)

    async def run(self, clock=None):
        """Flush records that have waited ``flush_ms`` when no new record comes to do it
        (spawn it: ``g.spawn(sink.run(g.clock))``)."""
        clock = clock or self.clock
        self.clock = clock
        while True:
            await clock.sleep_until(clock.add(clock.now(), self.flush_ms))
            if self._n and clock.diff(clock.now(), self._first) >= self.flush_ms:
                self.flush()

    def close(self):
        self.flush()

    def stats(self):
        return {"written": self.written, "waiting": self._n, "refused": self.refused, "dropped": self.dropped,
                "flushes": self.flushes,
                "rotations": self.rotations, "bytes": self.size}
