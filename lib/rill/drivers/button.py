"""Digital input / button: pin edges caught by an IRQ handler that never allocates.

The handler stores the edge's ``ticks_ms`` and the pin level into preallocated
arrays (a power-of-two ring) and sets an ``asyncio.ThreadSafeFlag``; a full ring
drops the edge and counts it in ``overruns``. ``run(emit)``, a task source, drains
the ring in the loop and emits ``(ticks_ms, active, settled)`` per edge, then, once
the line has been quiet for ``settle_ms``, one ``settled=1`` sample of the level it
came to rest at. Debouncing happens in the pipeline with ``debounce``:

    btn = board.button()            # DigitalInput on the board's button pin
    p.record("edge", tuple)
    p.record("pressed", bool)
    p.source("edge", task=btn.run)
    p.transform("pressed", debounce(20), "edge")
"""
import asyncio
import time
from array import array

from micropython import const

_SMALL = const(0x3FFFFFFF)  # counters wrap here: stay small ints, so the IRQ never allocates


class DigitalInput:
    def __init__(self, pin, active_low=False, size=64, settle_ms=50, hard=False, trigger=None):
        if size < 2 or size & (size - 1):
            raise ValueError("size must be a power of two")
        self.pin = pin
        self.invert = 1 if active_low else 0
        self.settle_ms = settle_ms
        self.overruns = 0  # edges dropped because the ring was full
        self._times = array("I", range(size))  # range, not [0] * size: no temporary list
        self._levels = bytearray(size)
        self._mask = size - 1
        self._wrap = 2 * size - 1  # head/tail run over 2*size so "full" and "empty" differ
        self._head = 0  # written only by the handler
        self._tail = 0  # written only by the loop
        self._flag = asyncio.ThreadSafeFlag()
        self._handler = self._irq  # bind once, here: the pin keeps this object
        if trigger is None:
            trigger = pin.IRQ_RISING | pin.IRQ_FALLING
        if hard:  # RP2040 runs hard IRQs; the ESP32 port only has soft (scheduled) ones
            pin.irq(handler=self._handler, trigger=trigger, hard=True)
        else:
            pin.irq(handler=self._handler, trigger=trigger)

    def _irq(self, pin):
        h = self._head
        if (h - self._tail) & self._wrap > self._mask:
            self.overruns = (self.overruns + 1) & _SMALL
            return
        i = h & self._mask
        self._times[i] = time.ticks_ms()
        self._levels[i] = pin.value()
        self._head = (h + 1) & self._wrap
        self._flag.set()

    def pending(self):
        """Edges waiting in the ring."""
        return (self._head - self._tail) & self._wrap

    def drain(self, emit):
        """Emit every edge in the ring, oldest first; return how many."""
        n = 0
        t = self._tail
        while t != self._head:
            i = t & self._mask
            emit((self._times[i], self._levels[i] ^ self.invert, 0))
            t = (t + 1) & self._wrap
            self._tail = t
            n += 1
        return n

    def level(self):
        """The input's current state: 1 when active."""
        return self.pin.value() ^ self.invert

    async def run(self, emit):
        flag = self._flag
        unsettled = False
        while True:
            if not unsettled:
                await flag.wait()
            if self.drain(emit):
                unsettled = True
            if unsettled:
                await asyncio.sleep_ms(self.settle_ms)
                if self._head == self._tail:  # quiet for settle_ms: report where it came to rest
                    emit((time.ticks_ms(), self.level(), 1))
                    unsettled = False


class debounce:
    """Transform ``(ticks_ms, active, settled)`` -> ``bool`` on a change of state, else None.

    With ``leading=True`` an edge passes at once when the line had been quiet for
    ``ms`` before it (low latency), and its bounces are dropped; the settled sample
    then corrects the state if the contact came to rest elsewhere, so a spike shows
    as a press of ``settle_ms``. With ``leading=False`` only settled samples count:
    nothing passes until the line has been still for the source's ``settle_ms``.
    """

    def __init__(self, ms=20, leading=True):
        self.ms = ms
        self.leading = leading
        self.state = None
        self._last = None  # ticks of the last real edge

    def __call__(self, edge):
        t, active, settled = edge
        if not settled:
            last = self._last
            self._last = t
            if not self.leading or (last is not None and time.ticks_diff(t, last) < self.ms):
                return None
        if active == self.state:
            return None
        self.state = active
        return bool(active)
