"""Fixed-capacity record buffers, allocated once when declared.

A buffer's overflow policy is part of its type, so backpressure is structural:

- ``Ring(n)``     one producer, many readers; overwrites the oldest. Each reader keeps
                  its own cursor and learns once how many records it missed.
- ``Latest()``    one slot; readers see the newest value; a late reader gets it once.
- ``Mailbox()``   one slot; a read takes the value; an unread value that is
                  overwritten counts as dropped.
- ``Queue(n, DROP|ERROR)``  FIFO that refuses when full: DROP counts and discards
                  the new record, ERROR raises QueueFull. ``await put_wait(v)``
                  waits for room instead.

Every buffer counts ``produced``, ``consumed``, ``dropped`` and ``occupancy``; every
reader reports its ``lag``. Readers return ``EMPTY`` when there is nothing new.
Counters wrap at 2**30 so that they stay small ints (no heap) on a 32-bit MCU.
"""
from micropython import const

_WRAP = const(0x3FFFFFFF)
DROP = const(0)
ERROR = const(1)


class _Empty:
    def __repr__(self):
        return "EMPTY"


EMPTY = _Empty()


class QueueFull(Exception):
    pass


class _Counters:
    def __init__(self):
        self.produced = 0
        self.consumed = 0
        self.dropped = 0

    def stats(self):
        return {"kind": self.kind, "capacity": self.capacity, "produced": self.produced,
                "consumed": self.consumed, "dropped": self.dropped, "occupancy": self.occupancy()}


class Ring(_Counters):
    kind = "ring"

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError("ring capacity must be at least 1")
        super().__init__()
        self.capacity = capacity
        self._slots = [None] * capacity
        self._head = 0  # slot of the next write
        self._count = 0
        self.readers = []

    def put(self, value):
        head = self._head
        self._slots[head] = value
        head += 1
        self._head = 0 if head == self.capacity else head
        if self._count < self.capacity:
            self._count += 1
        self.produced = (self.produced + 1) & _WRAP
        return True

    def occupancy(self):
        return self._count

    def reader(self):
        r = RingReader(self)
        self.readers.append(r)
        return r


class RingReader:
    """A cursor on a Ring. Starts at the oldest live record."""

    def __init__(self, ring):
        self._ring = ring
        self._seq = (ring.produced - ring._count) & _WRAP
        self._pos = (ring._head - ring._count) % ring.capacity
        self.missed = 0  # total, for stats
        self._unreported = 0

    def lag(self):
        return (self._ring.produced - self._seq) & _WRAP

    def read(self):
        ring = self._ring
        lag = (ring.produced - self._seq) & _WRAP
        if lag == 0:
            return EMPTY
        if lag > ring.capacity:  # lapped: skip to the oldest live record
            lost = lag - ring.capacity
            self.missed = (self.missed + lost) & _WRAP
            self._unreported += lost
            ring.dropped = (ring.dropped + lost) & _WRAP
            self._seq = (ring.produced - ring.capacity) & _WRAP
            self._pos = ring._head
        pos = self._pos
        value = ring._slots[pos]
        pos += 1
        self._pos = 0 if pos == ring.capacity else pos
        self._seq = (self._seq + 1) & _WRAP
        ring.consumed = (ring.consumed + 1) & _WRAP
        return value

    def take_missed(self):
        """Records lost to overwriting since the last call (0 when none)."""
        n = self._unreported
        self._unreported = 0
        return n


class Latest(_Counters):
    kind = "latest"
    capacity = 1

    def __init__(self):
        super().__init__()
        self.value = None
        self.version = 0  # 0 = never written

    def put(self, value):
        self.value = value
        v = (self.version + 1) & _WRAP
        self.version = v if v else 1
        self.produced = (self.produced + 1) & _WRAP
        return True

    def occupancy(self):
        return 1 if self.version else 0

    def reader(self):
        return LatestReader(self)


class LatestReader:
    def __init__(self, latest):
        self._latest = latest
        self._seen = 0
        self.missed = 0

    def lag(self):
        return 0 if self._seen == self._latest.version else 1

    def read(self):
        b = self._latest
        if self._seen == b.version:
            return EMPTY
        self._seen = b.version
        b.consumed = (b.consumed + 1) & _WRAP
        return b.value

    def take_missed(self):
        return 0


class _SingleReader(_Counters):
    """Buffers whose read takes the value: they are their own (only) reader."""

    missed = 0
    _room = None

    def reader(self):
        return self

    def lag(self):
        return self.occupancy()

    def take_missed(self):
        return 0

    def _took(self):
        self.consumed = (self.consumed + 1) & _WRAP
        if self._room is not None:
            self._room.set()

    def full(self):
        return self.occupancy() == self.capacity

    def room(self):
        """An awaitable that completes after the next read; for the one producer."""
        if self._room is None:
            from .signal import Signal

            self._room = Signal()
        return self._room

    async def put_wait(self, value):
        """Wait for room, then put: backpressure for a producer that may block."""
        while self.full():
            await self.room()
        return self.put(value)


class Mailbox(_SingleReader):
    kind = "mailbox"
    capacity = 1

    def __init__(self):
        super().__init__()
        self._value = None
        self._full = False

    def put(self, value):
        if self._full:
            self.dropped = (self.dropped + 1) & _WRAP
        self._value = value
        self._full = True
        self.produced = (self.produced + 1) & _WRAP
        return True

    def full(self):
        return False  # a newer value always replaces an unread one

    def occupancy(self):
        return 1 if self._full else 0

    def read(self):
        if not self._full:
            return EMPTY
        value = self._value
        self._value = None
        self._full = False
        self._took()
        return value


class Queue(_SingleReader):
    kind = "queue"

    def __init__(self, capacity, policy=DROP):
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1")
        if policy not in (DROP, ERROR):
            raise ValueError("queue policy must be DROP or ERROR")
        super().__init__()
        self.capacity = capacity
        self.policy = policy
        self._slots = [None] * capacity
        self._head = 0
        self._count = 0

    def occupancy(self):
        return self._count

    def put(self, value):
        """Store ``value``; when full, DROP returns False (counted), ERROR raises QueueFull."""
        n = self._count
        if n == self.capacity:
            if self.policy == ERROR:
                raise QueueFull("queue full (capacity %d)" % self.capacity)
            self.dropped = (self.dropped + 1) & _WRAP
            return False
        tail = self._head + n
        if tail >= self.capacity:
            tail -= self.capacity
        self._slots[tail] = value
        self._count = n + 1
        self.produced = (self.produced + 1) & _WRAP
        return True

    def read(self):
        if self._count == 0:
            return EMPTY
        head = self._head
        value = self._slots[head]
        self._slots[head] = None
        head += 1
        self._head = 0 if head == self.capacity else head
        self._count -= 1
        self._took()
        return value


class DeadLetters:
    """Bounded record of what could not be processed: (key, value, reason), newest kept."""

    def __init__(self, capacity=8):
        self.capacity = capacity
        self._keys = [None] * capacity
        self._values = [None] * capacity
        self._reasons = [None] * capacity
        self._next = 0
        self.count = 0  # total ever added
        self.dropped = 0  # entries overwritten by newer ones

    def add(self, key, value, reason):
        i = self._next
        if self.count >= self.capacity:
            self.dropped += 1
        self._keys[i] = key
        self._values[i] = value
        self._reasons[i] = reason
        self._next = (i + 1) % self.capacity
        self.count += 1

    def entries(self):
        """The kept entries, oldest first, as (key, value, reason) tuples."""
        n = min(self.count, self.capacity)
        start = (self._next - n) % self.capacity
        out = []
        for k in range(n):
            i = (start + k) % self.capacity
            out.append((self._keys[i], self._values[i], self._reasons[i]))
        return out

    def stats(self):
        return {"count": self.count, "dropped": self.dropped, "kept": min(self.count, self.capacity)}
