"""``Queue`` and ``Mailbox``: buffers that a read empties, and the one backpressure wait.

Loaded on first use (``from rill import Queue`` does it), so a board whose records are
all Rings and Latests never pays for them: about 2 KB of heap on the unix port. See
rill.buffers for the policies.
"""
import micropython
from micropython import const

from .buffers import BLOCK, DROP, EMPTY, ERROR, Signal, _Buffer

_WRAP = const(0x3FFFFFFF)
_REPLACE = const(3)  # Mailbox: the newest value replaces an unread one


class QueueFull(Exception):
    pass


class Queue(_Buffer):
    """FIFO with one reader (itself): a read takes the value."""

    kind = "queue"
    Reader = None
    _room = None

    def __init__(self, capacity, policy=DROP):
        if policy not in (DROP, ERROR, BLOCK, _REPLACE):
            raise ValueError("queue policy must be DROP, ERROR or BLOCK")
        super().__init__(capacity)
        self.policy = policy
        self._slots = [None] * capacity
        self._head = 0
        self._count = 0

    def occupancy(self):
        return self._count

    def lag(self):  # as a reader of itself: what is waiting
        return self._count

    def full(self):
        """Would put() refuse? (A Mailbox never refuses; other buffers are never full.)"""
        return self._count == self.capacity and self.policy != _REPLACE

    async def room(self):
        """Wait until put() would accept a value: the one backpressure wait, for the one
        producer. Returns at once when not full; while waiting it sleeps on a Signal
        that each read sets (made on first use, about 200 B)."""
        while self.full():
            if self._room is None:
                self._room = Signal()
            await self._room

    async def put_wait(self, value):
        """Wait for room, then put: backpressure for a producer that may block."""
        await self.room()
        return self.put(value)

    @micropython.native
    def put(self, value):
        """Store ``value``; when full, DROP returns False (counted), ERROR and BLOCK raise QueueFull."""
        n = self._count
        cap = self.capacity
        tail = self._head + n
        if n == cap:
            if self.policy == ERROR or self.policy == BLOCK:
                raise QueueFull("queue %s full (capacity %d)" % (self.key, cap))
            self.dropped = (self.dropped + 1) & _WRAP
            if self.policy == DROP:
                return False
            n -= 1  # _REPLACE: overwrite the newest unread value
            tail -= 1
        if tail >= cap:
            tail -= cap
        self._slots[tail] = value
        self.value = value
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
        self.consumed = (self.consumed + 1) & _WRAP
        if self._room is not None:
            self._room.set()
        return value


class Mailbox(Queue):
    kind = "mailbox"

    def __init__(self):
        super().__init__(1, _REPLACE)
