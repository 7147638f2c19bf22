"""Analog input: the mean of N ADC samples, in volts.

Samples go into a preallocated ``array`` (no allocation per sample). Where the ADC
offers ``read_uv()`` (ESP32: factory-calibrated microvolts) it is used; otherwise
``read_u16() * vref / 65535`` (RP2040). ``gain`` and ``offset`` then map the pin
voltage to what you measure, e.g. ``gain=2`` behind a 1:1 divider; ``calibrate()``
sets them from two known points.

    vbat = Analog(board.adc(26), samples=16, gain=3)
    p.record("vbat", float)
    p.source("vbat", vbat.read, every_ms=5000)
"""
from array import array

from .sensor import Sensor


class Analog(Sensor):
    def __init__(self, adc, samples=8, vref=3.3, gain=1.0, offset=0.0):
        super().__init__()
        if samples < 1:
            raise ValueError("samples must be at least 1")
        self.name = "analog"
        self.adc = adc
        self.vref = vref
        self.gain = gain
        self.offset = offset
        self._uv = getattr(adc, "read_uv", None)
        self._u16 = adc.read_u16
        self._buf = array("i" if self._uv else "H", range(samples))  # no temporary list

    def sample(self):
        """Fill the buffer with fresh samples and return their sum (allocates nothing)."""
        buf = self._buf
        read = self._uv or self._u16
        total = 0
        try:
            for i in range(len(buf)):
                v = read()
                buf[i] = v
                total += v
        except OSError as e:
            self._fail("adc error", e)
        return total

    def read_volts(self):
        """Mean pin voltage, before gain and offset."""
        total = self.sample()
        if self._uv:
            return total / len(self._buf) / 1000000
        return total / len(self._buf) * self.vref / 65535

    def read(self):
        v = self.read_volts() * self.gain + self.offset
        self.samples += 1
        return v

    def calibrate(self, pin_v1, true_v1, pin_v2, true_v2):
        """Set gain and offset so that pin voltages ``pin_v1``/``pin_v2`` read as ``true_v1``/``true_v2``."""
        if pin_v1 == pin_v2:
            raise ValueError("calibrate needs two different pin voltages")
        self.gain = (true_v2 - true_v1) / (pin_v2 - pin_v1)
        self.offset = true_v1 - self.gain * pin_v1
