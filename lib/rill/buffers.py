"""Fixed-capacity record buffers, allocated once when declared.

A buffer's overflow policy is part of its type, so backpressure is structural:

- ``Ring(n)``     one producer, many readers; overwrites the oldest. Each reader keeps
                  its own cursor and learns once (``take_missed()``) how many it missed.
- ``Latest()``    one slot; readers see the newest value; a late reader gets it once.
- ``Mailbox()``   one slot; a read takes the value; an unread value that is
                  overwritten counts as dropped.
- ``Queue(n, DROP|ERROR|BLOCK)``  FIFO with one reader. When full, DROP counts and
                  discards the new record, ERROR raises QueueFull, and BLOCK makes a
                  periodic source wait for room (backpressure); a synchronous put()
                  into a full BLOCK queue raises QueueFull, since it cannot wait.
                  ``await put_wait(v)`` waits for room whatever the policy.

Every buffer counts ``produced``, ``consumed``, ``dropped`` and ``occupancy()``; every
reader reports its ``lag()``. Readers return ``EMPTY`` when there is nothing new.
Counters wrap at 2**30 so that they stay small ints (no heap) on a 32-bit MCU.
Buffers know nothing of dispatch: rill.graph wires records together. Queue and Mailbox
live in rill.queues, loaded on first use. ``Signal`` (below) is what a reader waits on:
a tap for its record, a producer for room in a queue. (Here, with the buffers, so that
build() has it before it loads rill.graph: a small heap holds one at a time.)
"""
import micropython
from micropython import const

_WRAP = const(0x3FFFFFFF)
DROP = const(0)
ERROR = const(1)
BLOCK = const(2)

EMPTY = object()  # what a read returns when there is nothing new

# Allocation-free wake-ups that reach into asyncio's internals (the one place that does).
# - ``Signal()``: a reusable wake-up for one waiting task. ``asyncio.Event.wait()``
#   allocates a generator on every call (96 bytes on the unix port); a Signal is awaited
#   directly (``await sig``) and costs nothing per wake. One task waits at a time;
#   ``set()`` may be called any number of times before it runs (the wake is remembered),
#   only from the loop's own thread. About 200 B of heap per instance.
# - ``IoWait(sock, write=False)``: a Signal that asyncio's own poller sets when ``sock``
#   becomes readable (or writable), the mechanism of asyncio's streams, which cannot wrap
#   umqtt's socket. Made once per connection and awaited again and again; each await
#   waits anew. One reader and one writer may wait on the same socket at once;
#   cancelling a waiting task unregisters it. Nothing is allocated per wait. (One class
#   for both: a subclass in rill.mqtt would save a board without MQTT 128 B and cost
#   every MQTT app about 200 B.)
# The seam is a try-import, as in MicroPython's own asyncio: ``asyncio.core`` exists only
# on MicroPython; CPython gets equivalents on its event loop from ``cpython_compat``.
try:
    from asyncio import core
except ImportError:
    from .cpython_compat import IoWait, Signal  # noqa: F401
else:

    class Signal:
        sock = None  # an IoWait's socket (and ``write``: whether it waits for room to write)
        _done = StopIteration()  # raised to end an await: one for all, kept free of tracebacks

        def __init__(self, sock=None, write=False):
            self._task = None
            self.pending = False
            if sock is not None:
                self.sock = sock
                self.write = write

        def set(self):
            self.pending = True
            task = self._task
            if task is not None:
                self._task = None
                core._task_queue.push(task)

        def remove(self, task):  # asyncio calls this when the waiting task is cancelled
            self._task = None

        def __iter__(self):
            if self.sock is not None:
                self.pending = False  # an IoWait's await waits anew, even after a cancelled one
            return self

        def __next__(self):
            if self.pending:
                self.pending = False
                self._done.__traceback__ = None
                raise self._done
            sock = self.sock
            if sock is None:
                self._task = core.cur_task
                core.cur_task.data = self
            else:  # the poller resumes the task when sock is ready; then the wait is over
                self.pending = True
                if self.write:
                    core._io_queue.queue_write(sock)
                else:
                    core._io_queue.queue_read(sock)
            return None

    IoWait = Signal



class _Buffer:
    """What every buffer and every reader has: a count of records lost to overwriting,
    and drain(). A buffer also has counters, its ``kind`` and (once declared as a
    pipeline record) the record's key, type and latest value. (One base class for both:
    a second would cost every board about 110 B of heap.)"""

    kind = None  # a buffer's kind ("ring", ...); None: a reader, not a buffer
    policy = None  # what a full Queue does (rill.queues); other buffers are never full
    missed = 0
    _unreported = 0

    def take_missed(self):
        """Records lost to overwriting since the last call (0 when none)."""
        n = self._unreported
        self._unreported = 0
        return n

    def drain(self, fn, fail, who=None):
        """Call ``fn(value)`` for every unread record; ``fail(who, value, error)`` if it
        raises (a tap's ``graph.fail``, so that no closure is needed). Returns how many
        records were handed over."""
        n = 0
        while True:
            value = self.read()
            if value is EMPTY:
                return n
            n += 1
            try:
                fn(value)
            except Exception as e:
                fail(who, value, e)

    def __init__(self, capacity=1):
        if capacity < 1:
            from .check import refusal  # (its text costs the core no heap)

            raise refusal(2, capacity)
        self.capacity = capacity
        self.produced = 0
        self.consumed = 0
        self.dropped = 0
        self.value = None  # latest value written (what joins and transforms read)
        self.key = None
        self.type = None

    def occupancy(self):
        """Records held: every write is kept until capacity is reached (Latest, DeadLetters;
        Ring and Queue count their own)."""
        return self.produced if self.produced < self.capacity else self.capacity

    def reader(self):
        """A new reader with its own cursor (a Queue is its own, only, reader)."""
        return self.Reader(self) if self.Reader else self


class Ring(_Buffer):
    kind = "ring"

    def __init__(self, capacity):
        super().__init__(capacity)
        self._slots = [None] * capacity
        self._head = 0  # slot of the next write
        self._wrapped = False  # writes start at slot 0, so the ring is full once head wraps

    @micropython.native
    def put(self, value):
        head = self._head
        self._slots[head] = value
        self.value = value
        head += 1
        if head == self.capacity:
            head = 0
            self._wrapped = True
        self._head = head
        self.produced = (self.produced + 1) & _WRAP
        return True

    def occupancy(self):
        return self.capacity if self._wrapped else self._head


class RingReader(_Buffer):
    """A cursor on a Ring. Starts at the oldest live record."""

    def __init__(self, ring):
        self._buf = ring
        self.missed = 0  # instance attributes now, so that counting later allocates nothing
        self._unreported = 0
        count = ring.occupancy()
        self._seq = (ring.produced - count) & _WRAP
        self._pos = (ring._head - count) % ring.capacity

    def lag(self):
        return (self._buf.produced - self._seq) & _WRAP

    def _catch_up(self, ring, lag):
        """Lapped by the writer: skip to the oldest live record, remember what was lost."""
        lost = lag - ring.capacity
        self.missed = (self.missed + lost) & _WRAP
        self._unreported += lost
        ring.dropped = (ring.dropped + lost) & _WRAP
        self._seq = (ring.produced - ring.capacity) & _WRAP
        self._pos = ring._head
        return ring.capacity

    @micropython.native
    def drain(self, fn, fail, who=None):
        ring = self._buf
        total = 0
        while True:
            lag = (ring.produced - self._seq) & _WRAP
            if lag == 0:
                return total
            if lag > ring.capacity:
                lag = self._catch_up(ring, lag)
            slots = ring._slots
            cap = ring.capacity
            pos = self._pos
            for _ in range(lag):
                value = slots[pos]
                pos += 1
                if pos == cap:
                    pos = 0
                try:
                    fn(value)
                except Exception as e:
                    fail(who, value, e)
            # fn may have produced more: account for this batch, then look again
            self._pos = pos
            self._seq = (self._seq + lag) & _WRAP
            ring.consumed = (ring.consumed + lag) & _WRAP
            total += lag

    def read(self):
        ring = self._buf
        lag = (ring.produced - self._seq) & _WRAP
        if lag == 0:
            return EMPTY
        if lag > ring.capacity:
            self._catch_up(ring, lag)
        pos = self._pos
        value = ring._slots[pos]
        pos += 1
        self._pos = 0 if pos == ring.capacity else pos
        self._seq = (self._seq + 1) & _WRAP
        ring.consumed = (ring.consumed + 1) & _WRAP
        return value


class Latest(_Buffer):
    """The newest value only. ``produced`` doubles as the version readers compare."""

    kind = "latest"

    def put(self, value):
        self.value = value
        self.produced = (self.produced + 1) & _WRAP
        return True


class LatestReader(_Buffer):
    def __init__(self, latest):
        self._buf = latest
        self._seq = 0

    def lag(self):
        return 0 if self._seq == self._buf.produced else 1

    def read(self):
        b = self._buf
        if self._seq == b.produced:
            return EMPTY
        self._seq = b.produced
        b.consumed = (b.consumed + 1) & _WRAP
        return b.value


Ring.Reader = RingReader
Latest.Reader = LatestReader


class DeadLetters(_Buffer):
    """What could not be processed: the newest ``capacity`` (key, value, reason) entries;
    ``produced`` counts them all, ``dropped`` those overwritten. ``add()`` allocates
    nothing: ``width`` (3) preallocated slots per entry, and a reason kept as raised (an
    exception or a string), made text only when read. A wider entry (rill.log's Log)
    keeps more fields after the three ``add()`` writes, at slot ``_head * width``."""

    kind = "dead letters"

    def __init__(self, capacity, width=3):
        super().__init__(capacity)
        self.width = width
        self._slots = [None] * (width * capacity)
        self._head = 0

    def add(self, key, value, reason):
        head = self._head
        slots = self._slots
        i = self.width * head
        slots[i] = key
        slots[i + 1] = value
        slots[i + 2] = reason
        head += 1
        self._head = 0 if head == self.capacity else head
        if self.occupancy() == self.capacity:
            self.dropped = (self.dropped + 1) & _WRAP
        self.produced = (self.produced + 1) & _WRAP

    def entries(self):
        """The kept entries as (key, value, reason text) tuples, oldest first (from
        rill.describe, loaded on first use, like ``graph.stats()``)."""
        from .describe import entries

        return entries(self)
