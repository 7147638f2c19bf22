"""Outbox.put(..., replace=True), state rather than streams (see outbox.py): loaded by
the first such put (Home Assistant discovery, Bridge.put of a retained message)."""
from micropython import const

_QUEUED = const(0)  # outbox.py's entry states
_DEAD = const(3)
_WRAP = const(0x3FFFFFFF)


def supersede(self, topic, n):
    """Outbox ``self``'s queued retained entry for ``topic``, superseded by a new one of
    ``n`` bytes: its slot (rewritten in place when of the same size), or -1. Allocates nothing."""
    old = _queued(self, topic)
    if old >= 0:
        self.replaced = (self.replaced + 1) & _WRAP
        if self._len[old] != n:
            self.state[old] = _DEAD  # skipped by the sender; evicted without counting
    return old


def _queued(self, topic):
    """The slot of a queued, not yet sent, retained entry for ``topic``, or -1.
    Reads the topic in place: allocates nothing."""
    buf = self.buf
    st = self.state
    tl = len(topic)
    cap = self.capacity
    slot = self.tail + self._sent
    if slot >= cap:
        slot -= cap
    for _ in range(self.count - self._sent):
        i = self.index[slot]
        if st[slot] == _QUEUED and buf[i] & 1:
            i += 1
            while buf[i] & 0x80:  # the remaining length's bytes
                i += 1
            if buf[i + 1] << 8 | buf[i + 2] == tl:
                i += 3
                k = 0
                while k < tl and buf[i + k] == topic[k]:
                    k += 1
                if k == tl:
                    return slot
        slot = slot + 1 if slot + 1 < cap else 0
    return -1
