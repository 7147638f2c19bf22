"""Capped exponential backoff with jitter, for reconnecting.

The n-th delay is drawn uniformly from [d/2, d] where d = min(cap, base * 2**n):
spread out so that a fleet does not reconnect in lockstep, never below half the
nominal delay, never above the cap. The jitter comes from the microsecond clock's low
bits, which differ from device to device at any given moment (no RNG needed).
"""
from time import ticks_us


class Backoff:
    def __init__(self, base_ms=250, cap_ms=30000):
        self.base = base_ms
        self.cap = cap_ms
        self.n = 0

    def reset(self):
        self.n = 0

    def next(self):
        d = self.base << min(self.n, 16)
        if d > self.cap:
            d = self.cap
        else:
            self.n += 1
        half = d >> 1
        u = ticks_us()
        jitter = (u ^ (u >> 5) ^ (u >> 11)) & 0xFFFF  # stays a small int on a 32-bit MCU
        return half + jitter * (d - half) // 0x10000
