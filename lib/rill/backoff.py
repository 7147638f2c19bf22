"""Capped exponential backoff: the one used by sources, MQTT and Wi-Fi.

The n-th delay (from 0) is d = min(cap, base * 2**n). With jitter (the default, for
reconnecting) it is drawn uniformly from [d/2, d]: spread out so that a fleet does not
reconnect in lockstep, never below half the nominal delay, never above the cap. The
jitter is a 16-bit multiplicative hash of the microsecond clock (which differs from
device to device at any given moment) mixed with the previous draw, seeded by the
object's address (which differs between the devices of a simulated fleet sharing one
clock): no RNG module needed. ``jitter=False`` gives d exactly, for retries on a
schedule that tests can predict. ``next()`` allocates nothing (small ints).

A young outage (``young`` ms, 0: off) is probed often: for the first ``young`` ms after
the first ``next()`` since ``reset()`` (the outage's start), d stops growing at ``probe``
ms (jittered, so every [probe/2, probe]); after that it doubles on to ``cap``. A link
that comes back while the outage is young is found within ``probe`` ms; a long outage
costs few attempts; a fleet that lost its broker at the same moment probes spread over
[probe/2, probe] and so comes back spread over that window, not in one burst.
"""
from time import ticks_diff, ticks_ms, ticks_us


class Backoff:
    def __init__(self, base=250, cap=30000, jitter=True, young=0, probe=1000):
        """``base``, ``cap``, ``young``, ``probe``: milliseconds."""
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.young = young
        self.probe = probe
        self.n = 0
        self.t0 = None  # the outage's start (ticks_ms), set by the first next() after reset()
        self.r = id(self) & 0xFFFF

    def reset(self):
        self.n = 0
        self.t0 = None

    def next(self):
        d = self.base << min(self.n, 16)
        cap = self.cap
        if self.young:
            if self.t0 is None:
                self.t0 = ticks_ms()
            if ticks_diff(ticks_ms(), self.t0) < self.young and cap > self.probe:
                cap = self.probe
        if d > cap:
            d = cap
        else:
            self.n += 1
        if not self.jitter:
            return d
        half = d >> 1
        r = (self.r ^ ticks_us()) & 0xFFFF
        r = (r * 0x2F35 + 0x3C6D) & 0xFFFF  # < 2**30: stays a small int on a 32-bit MCU
        r ^= r >> 7
        self.r = r
        return half + r * (d - half) // 0x10000
