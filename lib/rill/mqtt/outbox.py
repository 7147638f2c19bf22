"""Outbox: store-and-forward ring of finished PUBLISH packets, allocated once.

Records wait here while the broker is away and leave in order when it is back. Each
entry is a complete MQTT PUBLISH (header, topic, packet id slot, payload) laid out
in one preallocated byte arena, so sending is a write straight from the arena:
consecutive entries go out in one socket write, a QoS 1 retransmission only patches
the packet id and sets DUP in place. Bounds are declared: ``capacity`` entries and
``size`` bytes. When either is exhausted the policy applies: DROP_OLDEST (default)
evicts the oldest entries, DROP_NEWEST refuses the new one; every loss is counted
in ``dropped``; with ``spill`` set (a flash log: spill.py), a full outbox spills
instead and drops only once the log is full. An evicted entry that was already sent and not yet acknowledged may
still arrive; ``dropped_sent`` counts those (so ``dropped`` is an upper bound of the
loss, and the gap shows in the sequence numbers). Bytes already handed to the socket
cannot be recalled, so if the oldest entry is mid-write the new entry is refused
instead (also counted).

``put(..., replace=True)`` is for state, not streams (the bridge's ``put``, e.g. Home
Assistant discovery): a retained entry for the same topic still waiting to be sent
(queued, or back in the queue after a lost connection) is superseded rather than kept
beside the new one: rewritten in place when the sizes match, else skipped by the
sender. The broker would keep only the newest retained message anyway. Counted in
``replaced``, never in ``dropped``.

The packets are written by packet.put_publish. Entry states: queued -> (written) ->
done for QoS 0, or in flight until its PUBACK for QoS 1; a superseded entry is dead.
``rewind()`` after a lost connection makes in-flight entries queued again with DUP set.
"""
from micropython import const

from . import _prep
from .packet import SUB_PID, put_publish

DROP_OLDEST = const(0)
DROP_NEWEST = const(1)

_QUEUED = const(0)
_INFLIGHT = const(1)
_DONE = const(2)
_DEAD = const(3)  # superseded before it was sent (replace=True): skipped, never sent
_WRAP = const(0x3FFFFFFF)
_DUP = const(0x08)  # in a PUBLISH's first byte


def supersede(self, topic, n):  # noqa: F811  (replaced by retained.supersede)
    """retained.supersede, loaded by the first put(replace=True) (state, not streams): it
    replaces this function as the module's ``supersede`` (an import per call would allocate)."""
    global supersede
    from .retained import supersede

    return supersede(self, topic, n)


def spill(*a):  # noqa: F811  (replaced by spill.put)
    """spill.put, loaded by the first record a full outbox with a spill log cannot take: it
    replaces this function as the module's ``spill``. The log (spill.py) then takes over
    the outbox's put, region, pending and _release, so none of it costs a bridge that
    never fills its outbox."""
    global spill
    from .spill import put as spill

    return spill(*a)


class Outbox:
    def __init__(self, *a, **k):
        """Outbox(capacity=64, size=8192, policy=DROP_OLDEST, window=32, chunk=4096):
        ``window`` QoS 1 packets in flight at most, ``chunk`` bytes per socket write at
        most. Built by prep.outbox."""
        _prep("outbox", self, *a, **k)

    def occupancy(self):
        return self.count

    def pending(self):
        """Entries not yet acknowledged (QoS 1) or written (QoS 0)."""
        n = 0
        i = self.tail
        for _ in range(self.count):
            if self.state[i] < _DONE:
                n += 1
            i = i + 1 if i + 1 < self.capacity else 0
        return n

    # -- producer side -------------------------------------------------------------------

    def put(self, topic, payload, qos=0, retain=False, replace=False):
        """Append a PUBLISH of ``payload`` to ``topic``; False (counted) if refused.
        ``replace`` (with ``retain``): supersede a queued retained entry for ``topic``."""
        rem = 2 + len(topic) + len(payload) + (2 if qos else 0)  # packet.publish_size, inlined: per message
        n = 1 + (1 if rem < 0x80 else 2 if rem < 0x4000 else 3 if rem < 0x200000 else 4) + rem
        self.produced = (self.produced + 1) & _WRAP
        slot = old = -1
        if replace and retain:
            old = supersede(self, topic, n)
            if old >= 0 and self._len[old] == n:
                slot = old  # same size: rewritten where it waits
        if slot >= 0:
            at = self.index[slot]
        else:
            at = -1  # the arena offset for n contiguous bytes, evicting per the policy; -1: refused
            size = self.size
            while n <= size:
                if self.count == 0:
                    at = 0
                    break
                if self.count < self.capacity:
                    wr = self.pos
                    rd = self.index[self.tail]
                    if wr > rd:
                        if size - wr >= n:
                            at = wr
                            break
                        if rd >= n:
                            at = 0
                            break
                    elif rd - wr >= n:
                        at = wr
                        break
                st = self.state[self.tail]
                if st < _DONE and self.spill is not None and not replace:
                    return spill(self, topic, payload, qos, retain)  # full of undelivered: to flash, nothing evicted
                if self.policy != DROP_OLDEST or self._busy and self._sent == self._rgn:
                    break  # refused, or the oldest entry is being written right now: no eviction
                if st < _DONE:
                    self.dropped = (self.dropped + 1) & _WRAP
                if st == _INFLIGHT:
                    self.inflight -= 1
                    self.dropped_sent += 1
                self._release(1)
            if at < 0:
                self.dropped = (self.dropped + 1) & _WRAP
                if old >= 0 and (old - self.tail) % self.capacity < self.count:
                    self.state[old] = _QUEUED  # not superseded after all: the old one is still sent
                    self.replaced = (self.replaced - 1) & _WRAP
                return False
            slot = self.tail + self.count
            if slot >= self.capacity:
                slot -= self.capacity
            self.count += 1
            self.pos = at + n
        j = put_publish(self.buf, at, topic, payload, qos << 1 | (1 if retain else 0))
        self._pido[slot] = j - at if qos else 0
        self.index[slot] = at
        self._len[slot] = n
        self.state[slot] = _QUEUED
        return True

    # -- sender side ---------------------------------------------------------------------

    def region(self):
        """The next bytes to write, as a memoryview, or None if nothing may be sent now.

        Gathers consecutive queued entries (stopping at the arena's wrap point, at
        ``chunk`` bytes, or when the QoS 1 window is full) and puts each QoS 1 entry in
        flight with a packet id at once: its PUBACK may come back before the rest of
        the region is written. A partly written region is continued first.
        """
        if self._busy:
            return self._mv[self.start:self.end]
        cap = self.capacity
        st = self.state
        n = self.count - self._sent
        slot = self.tail + self._sent
        if slot >= cap:
            slot -= cap
        if n > 0 and st[slot] == _DEAD:
            while n > 0 and st[slot] == _DEAD:  # superseded: passed over as if sent
                self._sent += 1
                n -= 1
                slot = slot + 1 if slot + 1 < cap else 0
            self._release()
        if n <= 0:
            return None
        start = end = self.index[slot]
        limit = start + self.chunk
        room = self.window - self.inflight
        buf = self.buf
        k = q1 = 0
        while k < n:
            off = self.index[slot]
            if off != end or (k and off + self._len[slot] > limit) or st[slot] == _DEAD:
                break
            po = self._pido[slot]
            if po:
                if q1 >= room:
                    break
                pid = self.next_pid
                self.next_pid = pid + 1 if pid < SUB_PID - 1 else 1  # SUBSCRIBE has its own id
                self.pid[slot] = pid
                buf[off + po] = pid >> 8
                buf[off + po + 1] = pid & 0xFF
                st[slot] = _INFLIGHT
                q1 += 1
            end = off + self._len[slot]
            k += 1
            slot = slot + 1 if slot + 1 < cap else 0
        if not k:
            return None
        self._sent += k
        self.inflight += q1
        self._rgn = k
        self._busy = True
        self.start = start
        self.end = end
        return self._mv[start:end]

    def wrote(self, n):
        """``n`` bytes of the current region reached the socket."""
        self.start += n
        if self.start < self.end:
            return
        cap = self.capacity
        slot = self.tail + self._sent - self._rgn
        if slot >= cap:
            slot -= cap
        st = self.state
        for _ in range(self._rgn):
            if st[slot] == _QUEUED:  # QoS 0: written is done
                st[slot] = _DONE
            slot = slot + 1 if slot + 1 < cap else 0
        self._busy = False
        self._rgn = 0
        self._release()

    def ack(self, pid):
        """A PUBACK arrived. Acks come in order, so the match is almost always the oldest."""
        cap = self.capacity
        slot = self.tail
        st = self.state
        for _ in range(self._sent):
            if st[slot] == _INFLIGHT and self.pid[slot] == pid:
                st[slot] = _DONE
                self.inflight -= 1
                self.acked = (self.acked + 1) & _WRAP
                self._release()
                return True
            slot = slot + 1 if slot + 1 < cap else 0
        return False  # unknown: evicted meanwhile, or a stray ack

    def _release(self, n=0):
        """Drop the done entries at the tail (``n`` 1: the tail entry only, whatever its state)."""
        st = self.state
        while n or self._sent and st[self.tail] >= _DONE:
            t = self.tail + 1
            self.tail = 0 if t == self.capacity else t
            self.count -= 1
            if self._sent:
                if self._sent == self._rgn:  # (acknowledged) tail was part of the region
                    self._rgn -= 1
                self._sent -= 1
            if n:
                return

    def rewind(self):
        """The connection is gone: abandon any partial write and resend every entry that
        is still unacknowledged, in order, with DUP set."""
        self._busy = False
        self._rgn = 0
        cap = self.capacity
        slot = self.tail
        buf = self.buf
        st = self.state
        for _ in range(self._sent):
            if st[slot] == _INFLIGHT:
                st[slot] = _QUEUED
                buf[self.index[slot]] |= _DUP
            slot = slot + 1 if slot + 1 < cap else 0
        # QoS 0 entries written to a dead socket are gone either way; drop the done ones
        self._release()
        self._sent = 0
        self.inflight = 0
        slot = self.tail
        for _ in range(self.count):
            if st[slot] == _DONE:
                st[slot] = _QUEUED  # a done entry behind an in-flight one: send again
            slot = slot + 1 if slot + 1 < cap else 0
