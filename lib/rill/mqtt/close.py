"""Stopping a session (see session.py), loaded when a bridge first closes or says
goodbye and kept: a bridge that never stops pays no heap for it.

``await stop(s, timeout_ms, ended)`` lets the tx task deliver what the outbox holds
until the deadline, then queue the goodbye (retained ``offline`` with ``"next"``, the
first sequence number the boot did not hand out, and DISCONNECT) and flush it; past the
deadline and a grace period the session is ended regardless. What
the spill log (spill.py) still holds in RAM is written to flash, for the next boot.
"""
import asyncio
import time

from micropython import const

from .packet import publish_size, put_publish

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff

_GRACE = const(200)  # ms past the close deadline for the goodbye itself
_DISCONNECT = b"\xe0\x00"  # (start.py sizes the control queue for its 2 bytes)


async def stop(self, timeout_ms, ended):
    """Deliver what the outbox holds for up to ``timeout_ms``, then say goodbye (the
    tx task does both); end the session if the goodbye is not out within the grace.
    Returns once the Event ``ended`` (set by the session's owner) is set."""
    self.stopping = True
    self.close_by = time.ticks_add(ticks_ms(), timeout_ms)
    while not ended.is_set():
        if ticks_diff(ticks_ms(), self.close_by) > _GRACE and self.end is not None:
            self.end.set()
        self.tx.set()
        await asyncio.sleep_ms(10)
    log = self.outbox.spill
    if log is not None and not isinstance(log, tuple):  # the spill log's batch: to flash, for the next boot
        log.flush()


def reject(self, what, topic):
    """A control packet of session ``self`` that did not fit its queue: a dead letter."""
    self.inbox.reject("unsent", what, topic, "does not fit the control queue (%d bytes)" % len(self.ctl))


def bye(self, now=False):
    """Queue the goodbye and DISCONNECT (which cancels the last will), once; False if
    not possible now (a packet is half written). ``now``: write it at once, best
    effort, never blocking (the session is over, or being cancelled)."""
    if self.said_bye or self.outbox._busy or now and self.t.sock is None:
        return False
    self.said_bye = True
    topic, head, seq = self.goodbye  # start.py sized the control queue for it
    msg = head + b',"next":%d}' % seq.n  # the first number this boot did not hand out
    packet = bytearray(publish_size(len(topic), len(msg), 0))
    put_publish(packet, 0, topic, msg, 1)
    if not (self.push(packet) and self.push(_DISCONNECT)):
        reject(self, "goodbye", topic)
    if now:
        try:
            self.flush()
        except OSError:
            pass
    return True


async def flush(self):
    """The tx task's last turn: what is queued, then the goodbye, within the grace."""
    while ticks_diff(ticks_ms(), self.close_by) <= _GRACE:
        if self.flush():  # what is queued goes first: room for the goodbye
            if not bye(self):
                return
        else:
            await asyncio.sleep_ms(5)
