"""Sensirion SHT3x (SHT30/31/35) temperature and humidity over I2C, single-shot.

``read()`` is split-phase, so the loop never waits for a conversion (up to 16 ms at
high repeatability): each call fetches the measurement the previous call started,
then starts the next one. The first call returns None (nothing started yet), and so
does a call that comes sooner than the conversion time. A periodic source sampling
every few seconds therefore reports values one period old. The 6 bytes are read into a
preallocated buffer and each word's CRC-8 is checked (polynomial 0x31, init 0xFF;
datasheet: 0xBEEF -> 0x92). A bad CRC or a bus error is a failed sample: counted, then
``SensorError`` is raised. ``now`` is the clock conversions are timed by: by default
the bus's own (a simulated board's clock, which follows the pipeline's VirtualClock),
else ``time.ticks_ms``. Reads that come faster than the conversion fail after a few.

    rh = SHT3x(board.i2c())
    p.record("air", SHT3x.SHAPE)
    p.source("air", rh.read, every_ms=2000)
"""
import time

from .sensor import Sensor

# repeatability -> (command, conversion time in ms: the datasheet maximum, rounded up)
_MODES = {"high": (b"\x24\x00", 16), "medium": (b"\x24\x0b", 7), "low": (b"\x24\x16", 5)}
_TOO_SOON = ("read again before the %d ms conversion ended by the driver's clock: poll less often, or give the "
             "sensor the pipeline's clock (board.load(id, clock=clock) under a VirtualClock)")


def crc8(buf, start=0, n=2):
    """Sensirion CRC-8 of ``buf[start:start+n]``, without slicing (no allocation)."""
    crc = 0xFF
    for i in range(start, start + n):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class SHT3x(Sensor):
    SHAPE = {"temperature_c": float, "humidity_pct": float}

    def __init__(self, i2c, addr=0x44, repeatability="high", now=None):
        super().__init__()
        if repeatability not in _MODES:
            raise ValueError("repeatability must be 'high', 'medium' or 'low'")
        self.name = "sht3x@0x%02x" % addr
        self.i2c = i2c
        self.addr = addr
        self._cmd, self.conversion_ms = _MODES[repeatability]
        self._buf = bytearray(6)  # T msb, T lsb, CRC, RH msb, RH lsb, CRC
        self._now = now or getattr(i2c, "now", None) or time.ticks_ms
        self._started = None  # when the pending measurement was started

    def read(self):
        started = self._started
        if started is not None and time.ticks_diff(self._now(), started) < self.conversion_ms:
            return self._wait(_TOO_SOON, self.conversion_ms)
        buf = self._buf
        self._started = None
        try:
            if started is not None:
                self.i2c.readfrom_into(self.addr, buf)
            self.i2c.writeto(self.addr, self._cmd)
        except OSError as e:
            self._fail("i2c error", e)
        self._started = self._now()
        if started is None:
            return None
        if crc8(buf, 0) != buf[2]:
            self._fail("CRC mismatch on temperature word (got 0x%02x, computed 0x%02x)" % (buf[2], crc8(buf, 0)))
        if crc8(buf, 3) != buf[5]:
            self._fail("CRC mismatch on humidity word (got 0x%02x, computed 0x%02x)" % (buf[5], crc8(buf, 3)))
        st = (buf[0] << 8) | buf[1]
        srh = (buf[3] << 8) | buf[4]
        self.samples += 1
        self.waits = 0
        return {"temperature_c": -45 + 175 * st / 65535, "humidity_pct": 100 * srh / 65535}
