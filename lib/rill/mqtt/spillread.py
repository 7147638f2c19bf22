"""The spill log's reading side (spill.py has the rules and the format): batches read from
flash through ``rbuf``, checked, and their records made whole in place and moved into the
RAM outbox; read segments removed once their records have left it. A base of
spill.Spill, loaded with it; its heap is Spill's (spill.py).
"""
import os
import struct
from binascii import crc32

from micropython import const

from .outbox import Outbox

_MAGIC = const(0xB5)  # the format's constants, as spill.py's
_HEAD = const(9)
_OVER = const(13)
_SAME = const(0x08)
_PRE = const(127)
_SEGS = const(16)
_WRAP = const(0x3FFFFFFF)


class Reader:
    def refill(self, ob):
        """Move records, oldest first, into the RAM outbox while it has room; remove the
        segments whose records have all left it."""
        released = self.released
        while self.lo < self.rd and (released - self.marks[self.lo % _SEGS]) & _WRAP < 0x20000000:
            self._remove(self.lo)
        while self.n and ob.count < ob.capacity:
            if not self._next():
                break
            rv = self._rv
            d = self.d
            j = d + self.tl
            self.refilling = True
            ob.produced = (ob.produced - 1) & _WRAP  # counted when it was first put
            ok = Outbox.put(ob, rv[d:j], rv[j:d + self.ln], self.fl >> 1, self.fl & 1)
            self.refilling = False
            if not ok:
                ob.produced = (ob.produced + 1) & _WRAP
                break  # no room in the arena yet: the same record is tried again next time
            self.ready = False
            self.pd = d
            self.plen = self.ln
            self.ptl = self.tl
            self.left -= 1
            self.rpos = self.nxt
            self.n -= 1
        if not self.n and not self.blen:  # everything written was read
            while self.rd < self.wr:
                if self.roff + self.rpos < self.sizes[self.rd % _SEGS]:
                    self.corrupt += 1  # what is left is a torn last batch
                self._done(self.rd)
            if self.sizes[self.wr % _SEGS]:
                self._done(self.wr)  # the next record starts a new segment
                self.wr += 1
                self.sizes[self.wr % _SEGS] = 0
        self.work = self.n > 0 or self.lo < self.rd

    def _next(self):
        """Decode the next intact record (read from flash as needed) into rbuf[d:d + ln]:
        False when none is there yet."""
        rb = self.rbuf
        while not self.ready:
            if self.left:
                self._decode()
                continue
            p = self.rpos
            avail = self.rend - p
            if avail >= _HEAD:
                total = (rb[p + 1] << 8 | rb[p + 2]) + _OVER
                if rb[p] != _MAGIC or total > len(rb):  # not a batch head: the rest of the segment is unreadable
                    self.corrupt += 1
                    self.roff = self.sizes[self.rd % _SEGS]
                    self.rpos = self.rend = 0
                elif avail >= total:
                    e = p + total - 4
                    cnt = rb[p + 3] << 8 | rb[p + 4]
                    if cnt and crc32(self._rv[p:e]) & 0xFFFFFFFF == struct.unpack_from(">I", rb, e)[0]:
                        self.left = cnt
                        self.bend = e
                        self.rpos = p + _HEAD
                        self.plen = 0
                        self.ptl = -1
                    else:
                        self._lose(cnt, False)  # skipped by its length: never sent, counted as lost
                        self.rpos = p + total
                    continue
            if not self._read():
                return False
        return True

    def _decode(self):
        """The record at rpos of the checked batch, made whole in place: the bytes it shares
        with the previous record copied from that one's to just before its rest, over bytes
        already read (the shared bytes are no more than the previous record's length, so
        they start past its start). A record that does not add up loses the batch's rest."""
        rb = self.rbuf
        e = self.bend
        p = self.rpos
        f = rb[p]
        tl = self.ptl
        q = p + 1
        if not f & _SAME:
            tl = self._v(q)
            q = self._q
        pre = rb[q] if 0 <= q < e else 0xFF
        r = self._v(q + 1) if pre <= _PRE else -1
        q = self._q
        if tl < 0 or q < 0 or pre > self.plen or q + r > e or pre + r < tl or f > 15:
            self._lose(self.left)
            self.left = 0
            self.rpos = e + 4
            return
        d = q - pre
        if pre:
            rb[d:q] = rb[self.pd:self.pd + pre]
        self.d = d
        self.tl = tl
        self.ln = pre + r
        self.fl = f & 7
        self.nxt = q + r if self.left > 1 else e + 4
        self.ready = True

    def _v(self, q):
        """The varint at rbuf[q] (self._q: where it ends), or -1 (_q -1) if it overruns the batch."""
        rb = self.rbuf
        v = s = 0
        while 0 <= q < self.bend and s < 21:
            c = rb[q]
            q += 1
            v |= (c & 0x7F) << s
            if c < 0x80:
                self._q = q
                return v
            s += 7
        self._q = -1
        return -1

    def _lose(self, k, sure=True):
        """A corrupt batch: its ``k`` records (no more than the log holds) counted as lost.
        Not ``sure`` (its checksum failed, so ``k`` may be wrong): the log's count stays as
        it is, too high at worst, and is set right when the reader reaches the end."""
        self.corrupt += 1
        k = min(k, self.n)
        self.ob.dropped = (self.ob.dropped + k) & _WRAP
        if sure:
            self.n -= k

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

    def _count(self, k):
        """(records in whole batches, bytes) of segment ``k``, read at setup through rbuf."""
        n = off = 0
        p = "%s.%d" % (self.path, k)
        try:
            nbytes = os.stat(p)[6]
        except OSError:
            return 0, 0
        rb = self.rbuf
        with open(p, "rb") as f:
            while off + _HEAD <= nbytes:
                f.seek(off)
                if f.readinto(self._rv[:_HEAD]) != _HEAD:
                    break
                total = (rb[1] << 8 | rb[2]) + _OVER
                if rb[0] != _MAGIC or off + total > nbytes:
                    break  # not a head, or a torn tail
                n += rb[3] << 8 | rb[4]
                off += total
        return n, nbytes
