"""Capped exponential backoff: the one used by sources, MQTT and Wi-Fi.

The n-th delay (from 0) is d = min(cap, base * 2**n). With jitter (the default, for
reconnecting) it is drawn uniformly from [d/2, d]: spread out so that a fleet does not
reconnect in lockstep, never below half the nominal delay, never above the cap. The
jitter comes from the microsecond clock's low bits, which differ from device to device
at any given moment (no RNG needed). ``jitter=False`` gives d exactly, for retries on a
schedule that tests can predict. ``next()`` allocates nothing (small ints).
"""
from time import ticks_us


class Backoff:
    def __init__(self, base=250, cap=30000, jitter=True):
        """``base``, ``cap``: milliseconds."""
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.n = 0

    def reset(self):
        self.n = 0

    def next(self):
        d = self.base << min(self.n, 16)
        if d > self.cap:
            d = self.cap
        else:
            self.n += 1
        if not self.jitter:
            return d
        half = d >> 1
        u = ticks_us()
        jitter = (u ^ (u >> 5) ^ (u >> 11)) & 0xFFFF  # stays a small int on a 32-bit MCU
        return half + jitter * (d - half) // 0x10000
