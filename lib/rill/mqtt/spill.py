"""Spill: the outbox's overflow, a bounded log on the board's flash (outbox.py routes to it).

Loaded only when needed: by the first record the full RAM outbox cannot take, or at
setup (prep.bridge) when a log from a previous boot exists. Until then a bridge pays
nothing for it.

The rule, in order: when the RAM outbox is full, a new stream record (not a retained
``replace``) goes to the log instead of evicting anything; while the log holds records,
every new stream record goes behind them, so keys leave in the order they were made.
Once the link is back, the outbox's sender (``region``) moves records from the log,
oldest first, into the RAM outbox as room frees up, with their payloads untouched (so
with their original (device, boot, seq) keys). A log that is full (``size`` bytes, or
``_SEGS`` files) refuses the new record: counted in the outbox's ``dropped``, as a full
RAM outbox counts today.

On flash: segment files ``path.1``, ``path.2``... (numbered upwards; a boot always starts
a new one), each up to ``size // 4`` bytes. A record is ``>HBHI`` (topic + payload
length, flags ``qos << 1 | retain``, topic length, time.time() in s), the topic, the
payload, then the CRC-32 of all that (``>I``): 13 bytes of framing. The frame.py idea
(a checksum per record, a torn tail skipped) in binary, because payloads may be binary
(Struct). Records are written in batches: a preallocated ``batch`` (default 1 KB) is
appended to the newest segment when the next record does not fit, when its oldest
record is ``flush_ms`` (10 s) old, or when the sender has read up to it; one
open-append-close per batch. A power cut loses the batch not yet written (RAM, like the
RAM outbox) and at most tears the record being written: on reading, a record cut short
ends its segment, one whose checksum fails is skipped (counted in ``corrupt`` and in
``dropped``); nothing corrupt is ever sent. A segment is removed once every record read
from it has left the RAM outbox (acknowledged, or written for QoS 0), so a reset
resends at most the records of the segments not yet removed: duplicates with the same
keys, which the consumer de-duplicates, never a loss.

Once made, the log wraps the outbox's ``put``, ``region``, ``pending`` and ``_release``
(instance attributes over the class's methods), so outbox.py carries only the hook that
spills, and a bridge whose outbox never fills runs exactly the code it ran before. Flash
written: each spilled record's 13 + topic + payload bytes, once (host_tests/lib/
test_mqtt_spill.py measures bytes and writes per hour at 1 Hz and 50 Hz).

Heap once loaded: the batch and read buffers (``batch`` bytes each) and two arrays of
``_SEGS`` ints; a spilled record allocates a few small objects (a memoryview, the
segment's name when a batch is written), never in proportion to the log.
"""
import os
import struct
import time
from array import array
from binascii import crc32

from micropython import const

from .outbox import Outbox

_HEAD = const(9)  # >HBHI
_OVER = const(13)  # head + CRC-32
_SEGS = const(16)  # segment files at most
_WRAP = const(0x3FFFFFFF)


class Spill:
    def __init__(self, ob, path, size, batch=1024, flush_ms=10000):
        self.ob = ob
        self.path = path
        self.size = size
        self.seg_bytes = max(batch, size // 4)
        self.flush_ms = flush_ms
        self.buf = bytearray(batch)  # records waiting to be appended
        self._bv = memoryview(self.buf)
        self.blen = self.bn = 0  # bytes, records
        self.t_batch = 0  # clock() of the batch's first record
        self.clock = time.ticks_ms
        self.rbuf = bytearray(batch)  # a chunk of the segment being read
        self._rv = memoryview(self.rbuf)
        self.rpos = self.rend = 0  # unread bytes of rbuf
        self.sizes = array("i", bytes(4 * _SEGS))  # per segment (k % _SEGS): bytes on flash
        self.marks = array("i", bytes(4 * _SEGS))  # per read segment: the outbox ordinal it is released at
        self.n = 0  # records in the log not yet moved to RAM
        self.work = False  # records to move, or read segments to remove
        self.refilling = False
        self.spilled = self.written = self.writes = self.corrupt = self.refused = 0
        self.error = None
        from . import _prep

        _prep("seqfile.state_dir", path)  # its folder (.rill/), made as for the sequence store
        found = _segments(path)
        while found and found[-1] + 1 - found[0] >= _SEGS:  # no room for this boot's segment (boots
            n, _ = _count(self, found[0])  # in a loop through an outage): the oldest goes, counted
            ob.dropped = (ob.dropped + n) & _WRAP
            self.refused += n
            os.remove("%s.%d" % (path, found.pop(0)))
        self.lo = found[0] if found else 1  # the oldest segment on flash
        self.wr = (found[-1] + 1) if found else 1  # the one being written: a new one each boot
        self.used = 0
        for k in found:
            n, nbytes = _count(self, k)
            self.sizes[k % _SEGS] = nbytes
            self.used += nbytes
            self.n += n
        self.sizes[self.wr % _SEGS] = 0
        self.rd = self.lo  # the segment being read, from offset roff
        self.roff = 0
        self.work = self.n > 0
        self.released = 0  # entries that left the RAM outbox since the log was made
        ob.spill = self
        ob.put = self.put  # the outbox's own methods, wrapped (see each)
        ob.region = self.region
        ob.pending = self.pending
        ob._release = self._release

    # -- producer side ---------------------------------------------------------------------

    def put(self, topic, payload, qos=0, retain=False, replace=False):
        """The outbox's put once the log is made: a stream record goes behind the log's while
        it holds any, else to the RAM outbox (which spills here when full)."""
        ob = self.ob
        if self.n and not replace:
            ob.produced = (ob.produced + 1) & _WRAP
            return self.add(topic, payload, qos, retain)
        return Outbox.put(ob, topic, payload, qos, retain, replace)

    def add(self, topic, payload, qos, retain):
        """Append a record behind the log's; False (counted in the outbox's dropped) if full."""
        tl = len(topic)
        need = _OVER + tl + len(payload)
        bl = self.blen
        if bl and (bl + need > len(self.buf) or self.sizes[self.wr % _SEGS] + bl + need > self.seg_bytes
                   or time.ticks_diff(self.clock(), self.t_batch) >= self.flush_ms):
            self.flush()
            bl = 0
        if need > len(self.buf) or self.used + need > self.size or not self._room(need):
            self.refused += 1
            self.ob.dropped = (self.ob.dropped + 1) & _WRAP
            return False
        bl = self.blen  # _room may have written the batch
        if not bl:
            self.t_batch = self.clock()
        b = self.buf
        struct.pack_into(">HBHI", b, bl, tl + len(payload), qos << 1 | (1 if retain else 0), tl,
                         int(time.time()) & 0xFFFFFFFF)
        j = bl + _HEAD
        b[j:j + tl] = topic
        b[j + tl:bl + need - 4] = payload
        struct.pack_into(">I", b, bl + need - 4, crc32(self._bv[bl:bl + need - 4]) & 0xFFFFFFFF)
        self.blen = bl + need
        self.bn += 1
        self.used += need
        self.n += 1
        self.spilled += 1
        self.work = True
        return True

    def _room(self, need):
        """Is there a segment for ``need`` more bytes (rolling over to a new one if the
        current one is full)? Never more than _SEGS segments."""
        if self.sizes[self.wr % _SEGS] + self.blen + need <= self.seg_bytes:
            return True
        if self.wr + 1 - self.lo >= _SEGS:
            return False
        self.flush()
        self.wr += 1
        self.sizes[self.wr % _SEGS] = 0
        return True

    def flush(self):
        """Append the batch to the segment being written: one open, write, close."""
        bl = self.blen
        if not bl:
            return
        try:
            with open("%s.%d" % (self.path, self.wr), "ab") as f:
                f.write(self._bv[:bl])
        except OSError as e:  # flash full or gone: the batch's records are lost, counted
            self.error = "spill %s.%d: %s" % (self.path, self.wr, e)
            self.ob.dropped = (self.ob.dropped + self.bn) & _WRAP
            self.n -= self.bn
            self.used -= bl
            self.blen = self.bn = 0
            return
        self.sizes[self.wr % _SEGS] += bl
        self.written += bl
        self.writes += 1
        self.blen = self.bn = 0

    # -- sender side -----------------------------------------------------------------------

    def region(self):
        """The outbox's region once the log is made: refill, then Outbox.region."""
        if self.work:
            self.refill(self.ob)
        return Outbox.region(self.ob)

    def pending(self):
        return Outbox.pending(self.ob) + self.n

    def _release(self, n=0):
        """The outbox's _release, counting the entries that leave it (for the segments' marks)."""
        ob = self.ob
        c = ob.count
        Outbox._release(ob, n)
        self.released = (self.released + c - ob.count) & _WRAP

    def refill(self, ob):
        """Move records, oldest first, into the RAM outbox while it has room; remove the
        segments whose records have all left it."""
        released = self.released
        while self.lo < self.rd and (released - self.marks[self.lo % _SEGS]) & _WRAP < 0x20000000:
            self._remove(self.lo)
        while self.n and ob.count < ob.capacity:
            rec = self._next()
            if rec < 0:
                break
            rv = self._rv
            ln, flags, tl, _ = struct.unpack_from(">HBHI", rv, rec)
            j = rec + _HEAD
            self.refilling = True
            ob.produced = (ob.produced - 1) & _WRAP  # counted when it was first put
            ok = Outbox.put(ob, rv[j:j + tl], rv[j + tl:j + ln], flags >> 1, flags & 1)
            self.refilling = False
            if not ok:
                ob.produced = (ob.produced + 1) & _WRAP
            if not ok:
                break  # no room in the arena yet: the same record is tried again next time
            self.rpos = rec + ln + _OVER
            self.n -= 1
        if not self.n and not self.blen:  # everything written was read
            while self.rd < self.wr:
                if self.roff + self.rpos < self.sizes[self.rd % _SEGS]:
                    self.corrupt += 1  # what is left is a torn last record
                self._done(self.rd)
            if self.sizes[self.wr % _SEGS]:
                self._done(self.wr)  # the next record starts a new segment
                self.wr += 1
                self.sizes[self.wr % _SEGS] = 0
        self.work = self.n > 0 or self.lo < self.rd

    def _next(self):
        """The offset in rbuf of the next intact record to send (read from flash as needed),
        or -1 when none is there yet."""
        while True:
            p = self.rpos
            avail = self.rend - p
            if avail >= _HEAD:
                ln = self.rbuf[p] << 8 | self.rbuf[p + 1]
                total = ln + _OVER
                if total > len(self.rbuf):  # a corrupt length: the rest of the segment is unreadable
                    self.corrupt += 1
                    self.roff = self.sizes[self.rd % _SEGS]
                    self.rpos = self.rend = 0
                elif avail >= total:
                    crc = struct.unpack_from(">I", self.rbuf, p + total - 4)[0]
                    if crc32(self._rv[p:p + total - 4]) & 0xFFFFFFFF == crc:
                        return p
                    self.corrupt += 1  # skipped by its length: never sent, counted as lost
                    self.ob.dropped = (self.ob.dropped + 1) & _WRAP
                    self.n -= 1
                    self.rpos = p + total
                    continue
            if not self._read():
                return -1

    def _read(self):
        """Read the next chunk of the log into rbuf (keeping the unread bytes): False at the
        end of what is on flash and in the batch."""
        keep = self.rend - self.rpos
        self.roff += self.rpos  # rbuf[0] is at roff in segment rd
        self.rbuf[0:keep] = self._rv[self.rpos:self.rend]
        self.rpos, self.rend = 0, keep
        k = self.rd
        size = self.sizes[k % _SEGS]
        end = self.roff + keep
        if end >= size:
            if k < self.wr:  # this segment is read: a torn tail (keep) ends it
                if keep:
                    self.corrupt += 1
                self._done(k)
                return True
            if not self.blen:
                self.n = 0  # all read (after a corrupt length, a count at setup may be off)
                return False
            self.flush()  # the sender caught up with the batch: write it, then read it
            size = self.sizes[k % _SEGS]
        try:
            with open("%s.%d" % (self.path, k), "rb") as f:
                f.seek(end)
                got = f.readinto(self._rv[keep:len(self.rbuf)]) or 0
        except OSError:  # removed under us: read as ended
            got = 0
        self.rend = keep + got
        if got == 0:  # shorter than we thought: a torn or truncated file
            self.sizes[k % _SEGS] = end
        return got > 0

    def _done(self, k):
        """Segment ``k`` is read: it goes once the RAM outbox has let go of its records."""
        self.marks[k % _SEGS] = self.released + self.ob.count  # the last record read is the newest in RAM
        self.rd = k + 1
        self.roff = self.rpos = self.rend = 0

    def _remove(self, k):
        try:
            os.remove("%s.%d" % (self.path, k))
        except OSError:
            pass
        self.used -= self.sizes[k % _SEGS]
        self.sizes[k % _SEGS] = 0
        self.lo = k + 1

    def stats(self):
        return {"log_records": self.n, "log_error": self.error, "log_bytes": self.used, "spilled": self.spilled,
                "flash_written": self.written, "flash_writes": self.writes, "corrupt": self.corrupt,
                "refused": self.refused}


def put(ob, topic, payload, qos, retain):
    """outbox.spill: the record the full RAM outbox ``ob`` cannot take, to the log (made on
    first use); while the log refills the outbox, full just means no room yet (False, not
    counted)."""
    log = ob.spill
    if isinstance(log, tuple):  # (path, size): not made yet
        log = Spill(ob, *log)
    if log.refilling:
        return False
    return log.add(topic, payload, qos, retain)


def _segments(path):
    """The segment numbers of ``path`` on flash, oldest first."""
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


def _count(self, k):
    """(intact records, bytes) of segment ``k``, read at setup through rbuf."""
    n = 0
    p = "%s.%d" % (self.path, k)
    try:
        nbytes = os.stat(p)[6]
    except OSError:
        return 0, 0
    off = 0
    with open(p, "rb") as f:
        while off + _HEAD <= nbytes:
            f.seek(off)
            got = f.readinto(self._rv[:_HEAD])
            if got != _HEAD:
                break
            total = (self.rbuf[0] << 8 | self.rbuf[1]) + _OVER
            if off + total > nbytes:
                break  # torn tail
            n += 1
            off += total
    return n, nbytes
