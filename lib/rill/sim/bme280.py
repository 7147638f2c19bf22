"""A BME280 register model: set a physical temperature, pressure and humidity, and
its data registers hold the raw ADC values a real chip would report.

The raw values come from inverting the datasheet's floating-point compensation
(BST-BME280-DS002 section 8.1, written out here independently of the driver's
integer code) by bisection, so a round trip through the driver checks both.
The default calibration is the datasheet's worked example for T and P (dig_T1 =
27504 ...), with typical humidity words.

    model = BME280Model(temperature=21.5, pressure=1002.0, humidity=40.0)
    bus.attach(0x76, model)
    model.inject("nack", times=2)
"""
import time

from .registers import Registers

CALIBRATION = {
    "T": (27504, 26435, -1000),
    "P": (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000),
    "H": (75, 362, 0, 333, 50, 30),
}


def _put16(regs, at, v):
    v &= 0xFFFF
    regs[at] = v & 0xFF
    regs[at + 1] = v >> 8


def _temperature(cal, adc_t):
    t1, t2, t3 = cal["T"]
    v1 = (adc_t / 16384.0 - t1 / 1024.0) * t2
    v2 = (adc_t / 131072.0 - t1 / 8192.0) * (adc_t / 131072.0 - t1 / 8192.0) * t3
    return (v1 + v2) / 5120.0, int(v1 + v2)


def _pressure(cal, adc_p, t_fine):
    p1, p2, p3, p4, p5, p6, p7, p8, p9 = cal["P"]
    v1 = t_fine / 2.0 - 64000.0
    v2 = v1 * v1 * p6 / 32768.0
    v2 = v2 + v1 * p5 * 2.0
    v2 = v2 / 4.0 + p4 * 65536.0
    v1 = (p3 * v1 * v1 / 524288.0 + p2 * v1) / 524288.0
    v1 = (1.0 + v1 / 32768.0) * p1
    p = 1048576.0 - adc_p
    p = (p - v2 / 4096.0) * 6250.0 / v1
    v1 = p9 * p * p / 2147483648.0
    v2 = p * p8 / 32768.0
    return p + (v1 + v2 + p7) / 16.0


def _humidity(cal, adc_h, t_fine):
    h1, h2, h3, h4, h5, h6 = cal["H"]
    h = t_fine - 76800.0
    h = (adc_h - (h4 * 64.0 + h5 / 16384.0 * h)) * (
        h2 / 65536.0 * (1.0 + h6 / 67108864.0 * h * (1.0 + h3 / 67108864.0 * h)))
    return h * (1.0 - h1 * h / 524288.0)


def _bisect(f, target, lo, hi, rising):
    """The integer x in [lo, hi] where monotonic f(x) comes closest to target."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (f(mid) < target) == rising:
            lo = mid
        else:
            hi = mid
    return lo if abs(f(lo) - target) <= abs(f(hi) - target) else hi


class BME280Model(Registers):
    def __init__(self, temperature=22.0, pressure=1013.25, humidity=45.0, calibration=None, chip_id=0x60,
                 now=time.ticks_ms):
        super().__init__()
        self.now = now  # the clock measurements are timed by (SimHardware sets the pipeline's)
        self.temperature = temperature  # °C
        self.pressure = pressure  # hPa
        self.humidity = humidity  # %RH
        self.cal = calibration or CALIBRATION
        self.ready_after_ms = 0  # first measurement completes this long after entering normal/forced mode
        self._started = None
        self._load(chip_id)

    def _load(self, chip_id):
        r = self.regs
        at = 0x88
        for v in self.cal["T"] + self.cal["P"]:
            _put16(r, at, v)
            at += 2
        h1, h2, h3, h4, h5, h6 = self.cal["H"]
        r[0xA1] = h1
        _put16(r, 0xE1, h2)
        r[0xE3] = h3
        r[0xE4] = (h4 >> 4) & 0xFF
        r[0xE5] = (h4 & 0x0F) | ((h5 & 0x0F) << 4)
        r[0xE6] = (h5 >> 4) & 0xFF
        r[0xE7] = h6 & 0xFF
        r[0xD0] = chip_id
        self._reset_data()

    def _reset_data(self):
        self.regs[0xF7:0xFF] = b"\x80\x00\x00\x80\x00\x00\x80\x00"  # the chip's "skipped" values
        self._started = None

    def set(self, temperature=None, pressure=None, humidity=None):
        if temperature is not None:
            self.temperature = temperature
        if pressure is not None:
            self.pressure = pressure
        if humidity is not None:
            self.humidity = humidity

    def raw(self):
        """(adc_T, adc_P, adc_H) for the current physical values."""
        cal = self.cal
        adc_t = _bisect(lambda x: _temperature(cal, x)[0], self.temperature, 0, (1 << 20) - 1, True)
        t_fine = _temperature(cal, adc_t)[1]
        adc_p = _bisect(lambda x: _pressure(cal, x, t_fine), self.pressure * 100, 0, (1 << 20) - 1, False)
        adc_h = _bisect(lambda x: _humidity(cal, x, t_fine), self.humidity, 0, 65535, True)
        return adc_t, adc_p, adc_h

    def on_write(self, reg, value):
        if reg == 0xE0 and value == 0xB6:  # soft reset
            self.regs[0xF2:0xF6] = b"\x00\x00\x00\x00"
            self._reset_data()
            return
        if reg in (0xF2, 0xF4, 0xF5):
            self.regs[reg] = value
        if reg == 0xF4 and value & 3 and self._started is None:
            self._started = self.now()

    def before_read(self, reg, n):
        if reg + n <= 0xF7 or reg > 0xFE or self._started is None:
            return
        if time.ticks_diff(self.now(), self._started) < self.ready_after_ms:
            return
        t, p, h = self.raw()
        r = self.regs
        r[0xF7], r[0xF8], r[0xF9] = p >> 12, (p >> 4) & 0xFF, (p & 0x0F) << 4
        r[0xFA], r[0xFB], r[0xFC] = t >> 12, (t >> 4) & 0xFF, (t & 0x0F) << 4
        r[0xFD], r[0xFE] = h >> 8, h & 0xFF
