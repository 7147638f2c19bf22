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
a new one), each up to ``size // 4`` bytes of batches. Records are written in batches: a
preallocated ``batch`` (default 1 KB) is appended to the newest segment when the next
record does not fit, when its oldest record is ``flush_ms`` (10 s) old, or when the
sender has read up to it; one open-append-close per batch. A batch is framed once: a
head ``>BHHI`` (0xB5, the records' bytes, their number, time.time() in s), the records,
the CRC-32 of head and records (``>I``): 13 bytes a batch, not a record. A record is
front-coded against the batch's previous one: a flags byte (``qos << 1 | retain``;
0x08: its topic is as long as the previous record's), the topic length (varint, unless
0x08), how many leading bytes of topic + payload it shares with the previous record
(one byte, at most 127; 0 for a batch's first), the rest's length (varint), the rest.
A JSON envelope shares its topic and ``{"dev":..,"boot":..,"seq":`` with the record
before and differs from the last digits of seq on, so it costs ~14 bytes past its
batch's first: ~19 bytes a record at 1 Hz (batches of 10), ~15 at 50 Hz (1 KB batches),
against 13 + topic + payload (~60) framed one by one; the payload comes back byte for
byte. In binary, because payloads may be binary (Struct). A power cut loses the batch
not yet written (RAM, like the RAM outbox) and at most tears the batch being written:
on reading, a batch cut short ends its segment, one whose checksum fails (or whose
records do not add up) is skipped, its records counted in ``dropped``, the event in
``corrupt``; a head that is not one ends its segment (counted in ``corrupt``); nothing
corrupt is ever sent. A segment is removed once every record read from it has left the
RAM outbox (acknowledged, or written for QoS 0), so a reset resends at most the records
of the segments not yet removed: duplicates with the same keys, which the consumer
de-duplicates, never a loss.

Once made, the log wraps the outbox's ``put``, ``region``, ``pending`` and ``_release``
(instance attributes over the class's methods), so outbox.py carries only the hook that
spills, and a bridge whose outbox never fills runs exactly the code it ran before. Flash
written: each spilled record's bytes above, once (host_tests/lib/test_mqtt_spill.py
measures bytes and writes per hour at 1 Hz and 50 Hz).

Heap once loaded: the batch and read buffers (``batch`` bytes each), 127 bytes of the
previous record and two arrays of ``_SEGS`` ints, ~2.3 KB at the default batch. Spilling
a record allocates nothing (tested under heap_lock) but when it writes a batch (the file,
its name) or its rest of payload is over 48 bytes (a memoryview); reading one back
allocates its two memoryviews and the copy of its shared bytes.
"""
import os
import struct
import time
from array import array
from binascii import crc32

from micropython import const

from .outbox import Outbox
from .spillread import Reader

_MAGIC = const(0xB5)  # a batch's first byte
_HEAD = const(9)  # >BHHI
_OVER = const(13)  # head + CRC-32
_SAME = const(0x08)  # a record's flag: its topic is as long as the previous record's
_PRE = const(127)  # leading bytes a record shares with the previous one, at most (one byte)
_SEGS = const(16)  # segment files at most
_WRAP = const(0x3FFFFFFF)


def _vlen(v):
    return 1 if v < 0x80 else 2 if v < 0x4000 else 3


def _putv(b, j, v):
    """``v`` as a varint (7 bits a byte, low first) at ``b[j]``: where it ends."""
    while v >= 0x80:
        b[j] = v & 0x7F | 0x80
        v >>= 7
        j += 1
    b[j] = v
    return j + 1


class Spill(Reader):
    def __init__(self, ob, path, size, batch=1024, flush_ms=10000):
        self.ob = ob
        self.path = path
        self.size = size
        self.seg_bytes = max(batch, size // 4)
        self.flush_ms = flush_ms
        self.buf = bytearray(batch)  # the batch being made: head, records (CRC added when written)
        self._bv = memoryview(self.buf)
        self.blen = self.bn = 0  # bytes (head included; 0: no batch), records
        self.t_batch = self.t_wall = 0  # clock() and time.time() of the batch's first record
        self.last = bytearray(_PRE)  # the batch's previous record: its first bytes of topic + payload
        self.llen = 0
        self.ltl = -1  # its topic length
        self.clock = time.ticks_ms
        self.rbuf = bytearray(batch)  # a chunk of the segment being read
        self._rv = memoryview(self.rbuf)
        self.rpos = self.rend = 0  # unread bytes of rbuf
        self.left = self.bend = 0  # records still to read of the checked batch in rbuf, where they end
        self.pd = self.plen = self.ptl = 0  # the previous record read: rbuf[pd:pd + plen], its topic length
        self.ready = False  # a record is decoded (d, tl, ln, fl, nxt), waiting for room in the RAM outbox
        self.d = self.tl = self.ln = self.fl = self.nxt = self._q = 0
        self.sizes = array("i", bytes(4 * _SEGS))  # per segment (k % _SEGS): bytes on flash
        self.marks = array("i", bytes(4 * _SEGS))  # per read segment: the outbox ordinal it is released at
        self.n = 0  # records in the log not yet moved to RAM
        self.work = False  # records to move, or read segments to remove
        self.refilling = False
        self.spilled = self.written = self.writes = self.corrupt = self.refused = 0
        self.error = None
        from . import _prep

        _prep("seqfile.state_dir", path)  # its folder (.rill/), made as for the sequence store
        found = _prep("seqfile.segments", path)
        while found and found[-1] + 1 - found[0] >= _SEGS:  # no room for this boot's segment (boots
            n, _ = self._count(found[0])  # in a loop through an outage): the oldest goes, counted
            ob.dropped = (ob.dropped + n) & _WRAP
            self.refused += n
            os.remove("%s.%d" % (path, found.pop(0)))
        self.lo = found[0] if found else 1  # the oldest segment on flash
        self.wr = (found[-1] + 1) if found else 1  # the one being written: a new one each boot
        self.used = 0
        for k in found:
            n, nbytes = self._count(k)
            self.sizes[k % _SEGS] = nbytes
            self.used += nbytes
            self.n += n
        self.sizes[self.wr % _SEGS] = 0
        self.rd = self.lo  # the segment being read, from offset roff
        self.roff = 0
        self.work = bool(found)  # a previous boot's segments: read through (a torn tail counted), then removed
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
        ln = tl + len(payload)
        bl = self.blen
        if bl and time.ticks_diff(self.clock(), self.t_batch) >= self.flush_ms:
            self.flush()
            bl = 0
        pre = self._prefix(topic, payload, tl, ln) if bl else 0
        same = bl and tl == self.ltl
        rec = 2 + (0 if same else _vlen(tl)) + _vlen(ln - pre) + ln - pre
        if bl and (bl + rec + 4 > len(self.buf) or self.sizes[self.wr % _SEGS] + bl + rec + 4 > self.seg_bytes):
            self.flush()
            bl = pre = 0
            same = False
            rec = 2 + _vlen(tl) + _vlen(ln) + ln
        need = rec if bl else rec + _OVER
        if need > len(self.buf) or self.used + need > self.size or not (bl or self._room(need)):
            self.refused += 1
            self.ob.dropped = (self.ob.dropped + 1) & _WRAP
            return False
        b = self.buf
        if not bl:
            bl = _HEAD
            self.t_batch = self.clock()
            self.t_wall = int(time.time())
        b[bl] = qos << 1 | (1 if retain else 0) | (_SAME if same else 0)
        j = bl + 1 if same else _putv(b, bl + 1, tl)
        b[j] = pre
        j = _putv(b, j + 1, ln - pre)
        i = pre  # the rest: topic[pre:], then the payload from pre - tl
        while i < tl:
            b[j] = topic[i]
            i += 1
            j += 1
        k = i - tl
        r = ln - i
        if k == 0:
            b[j:j + r] = payload
        elif r > 48:
            b[j:j + r] = memoryview(payload)[k:]
        else:
            for i in range(r):
                b[j + i] = payload[k + i]
        m = min(ln, _PRE)  # the first bytes of this record, for the next one's prefix
        last = self.last
        for i in range(pre, m):
            last[i] = topic[i] if i < tl else payload[i - tl]
        self.llen = m
        self.ltl = tl
        self.blen = j + r
        self.bn += 1
        self.used += need
        self.n += 1
        self.spilled += 1
        self.work = True
        return True

    def _prefix(self, topic, payload, tl, ln):
        """How many leading bytes of topic + payload the batch's previous record has too."""
        last = self.last
        m = min(self.llen, ln)
        t = min(m, tl)
        i = 0
        while i < t and last[i] == topic[i]:
            i += 1
        if i == tl:
            while i < m and last[i] == payload[i - tl]:
                i += 1
        return i

    def _room(self, need):
        """Is there room for a new batch of ``need`` bytes in the segment being written (or
        in a next one, rolled over to)? Never more than _SEGS segments."""
        if self.sizes[self.wr % _SEGS] + need <= self.seg_bytes:
            return True
        if self.wr + 1 - self.lo >= _SEGS:
            return False
        self.wr += 1
        self.sizes[self.wr % _SEGS] = 0
        return True

    def flush(self):
        """Append the batch, framed, to the segment being written: one open, write, close."""
        bl = self.blen
        if not bl:
            return
        b = self.buf
        struct.pack_into(">BHHI", b, 0, _MAGIC, bl - _HEAD, self.bn, self.t_wall & 0xFFFFFFFF)
        struct.pack_into(">I", b, bl, crc32(self._bv[:bl]) & 0xFFFFFFFF)
        bl += 4
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
