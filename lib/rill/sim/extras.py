"""The rest of the simulated ``machine`` (rill.sim.machine loads it at first use):
``Timer``, whose ``fire(n)`` runs its callback as ``n`` expiries would, ``SoftI2C``,
``idle()``, ``unique_id()`` and ``freq()``."""
from .machine import I2C


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, mode=PERIODIC, period=-1, freq=-1, callback=None):
        self.id = id
        self.init(mode=mode, period=period, freq=freq, callback=callback)

    def init(self, mode=PERIODIC, period=-1, freq=-1, callback=None):
        self.mode = mode
        self.period = period if period != -1 else (1000 // freq if freq > 0 else -1)
        self.callback = callback

    def deinit(self):
        self.callback = None

    def fire(self, n=1):
        """Run the callback as ``n`` expiries would (a one-shot timer runs once)."""
        for _ in range(n):
            cb = self.callback
            if cb is None:
                return
            if self.mode == Timer.ONE_SHOT:
                self.callback = None
            cb(self)


class SoftI2C(I2C):
    def __init__(self, scl=None, sda=None, freq=400000, timeout=50000):
        super().__init__(-1, scl, sda, freq, timeout)


def idle():
    pass


def unique_id():
    return b"rillsim0"


def freq():
    return 125000000
