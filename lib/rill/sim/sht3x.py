"""An SHT3x model: answers single-shot measurement commands with the raw words a
real sensor would send for ``temperature``/``humidity``, each followed by its CRC.

Like the chip, it NACKs a read that comes before the conversion has finished
(``conversion_ms``, the datasheet's typical times) or with no measurement pending.
Fault ``"crc"`` corrupts the checksum of the temperature word.
"""
import errno
import time

from .device import Device

# single-shot commands (no clock stretching, then with it) -> typical conversion ms
_MEASURE = {0x2400: 12, 0x240B: 4, 0x2416: 2, 0x2C06: 12, 0x2C0D: 4, 0x2C10: 2}
_SOFT_RESET = 0x30A2


def _crc8(b0, b1):
    crc = 0xFF
    for byte in (b0, b1):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class SHT3xModel(Device):
    def __init__(self, temperature=22.0, humidity=45.0, now=time.ticks_ms):
        super().__init__()
        self.now = now  # the clock conversions are timed by (SimHardware sets the pipeline's)
        self.temperature = temperature  # °C
        self.humidity = humidity  # %RH
        self.commands = 0
        self._started = None
        self._wait = 0
        self._out = bytearray(6)

    def set(self, temperature=None, humidity=None):
        if temperature is not None:
            self.temperature = temperature
        if humidity is not None:
            self.humidity = humidity

    def raw(self):
        st = round((self.temperature + 45) * 65535 / 175)
        srh = round(self.humidity * 65535 / 100)
        return max(0, min(65535, st)), max(0, min(65535, srh))

    def write(self, buf):
        if len(buf) != 2:
            raise OSError(errno.EIO)
        cmd = (buf[0] << 8) | buf[1]
        self.commands += 1
        if cmd == _SOFT_RESET:
            self._started = None
        elif cmd in _MEASURE:
            self._started = self.now()
            self._wait = _MEASURE[cmd]
        else:
            raise OSError(errno.EIO)  # the chip NACKs a command it does not know

    def read(self, buf):
        if self._started is None or time.ticks_diff(self.now(), self._started) < self._wait:
            raise OSError(errno.ENODEV)  # no data yet: read header not acknowledged
        self._started = None
        st, srh = self.raw()
        o = self._out
        o[0], o[1] = st >> 8, st & 0xFF
        o[2] = _crc8(o[0], o[1])
        o[3], o[4] = srh >> 8, srh & 0xFF
        o[5] = _crc8(o[3], o[4])
        if self.take_fault("crc"):
            o[2] ^= 0x5A
        for i in range(min(len(buf), 6)):
            buf[i] = o[i]
