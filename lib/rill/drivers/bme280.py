"""Bosch BME280 temperature, pressure and humidity over I2C.

The sensor runs in normal mode (it measures on its own every ``standby_ms``), so
``read()`` never waits: it reads the 8 data registers into a preallocated buffer and
applies the datasheet's integer compensation (BST-BME280-DS002 section 4.2.3: 32-bit
temperature and humidity, 64-bit pressure). Calibration is read once, lazily, and
again after any bus error, so a sensor that was unplugged or power-cycled recovers.

    env = BME280(board.i2c())
    p.record("env", BME280.SHAPE)
    p.source("env", env.read, every_ms=1000)

``read()`` returns ``{"temperature_c", "pressure_hpa", "humidity_pct"}``, None before
the first measurement completes, and raises ``SensorError`` on a bus error or a
wrong chip id (counted in ``failures``).
"""
from micropython import const

from .sensor import Sensor, SensorError

_REG_CALIB_A = const(0x88)  # 0x88..0xA1: dig_T1..dig_P9, then dig_H1 at 0xA1
_REG_CHIP_ID = const(0xD0)
_REG_CALIB_B = const(0xE1)  # 0xE1..0xE7: dig_H2..dig_H6
_REG_CTRL_HUM = const(0xF2)
_REG_CTRL_MEAS = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)  # press[3] temp[3] hum[2]
_CHIP_ID = const(0x60)
_SKIPPED = const(0x80000)  # data register reset value: nothing measured yet

# t_sb field of the config register, by standby time in ms
_STANDBY = {0: 0, 62: 1, 125: 2, 250: 3, 500: 4, 1000: 5, 10: 6, 20: 7}


def _u16(b, i):
    return b[i] | (b[i + 1] << 8)


def _s16(b, i):
    v = b[i] | (b[i + 1] << 8)
    return v - 65536 if v & 0x8000 else v


def _s8(v):
    return v - 256 if v & 0x80 else v


def parse_calibration(a, b):
    """Calibration words from the 26 bytes at 0x88 and the 7 at 0xE1, as a tuple
    (T1, T2, T3, P1..P9, H1..H6)."""
    h4 = (_s8(b[3]) << 4) | (b[4] & 0x0F)  # 12-bit signed: MSB byte carries the sign
    h5 = (_s8(b[5]) << 4) | (b[4] >> 4)
    return (_u16(a, 0), _s16(a, 2), _s16(a, 4),
            _u16(a, 6), _s16(a, 8), _s16(a, 10), _s16(a, 12), _s16(a, 14),
            _s16(a, 16), _s16(a, 18), _s16(a, 20), _s16(a, 22),
            a[25], _s16(b, 0), b[2], h4, h5, _s8(b[6]))


def _div(a, b):
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def compensate_t(cal, adc_t):
    """Return (temperature in 0.01 °C, t_fine)."""
    t1 = cal[0]
    var1 = (((adc_t >> 3) - (t1 << 1)) * cal[1]) >> 11
    d = (adc_t >> 4) - t1
    var2 = (((d * d) >> 12) * cal[2]) >> 14
    t_fine = var1 + var2
    return (t_fine * 5 + 128) >> 8, t_fine


def compensate_p(cal, adc_p, t_fine):
    """Pressure in Pa as Q24.8 (divide by 256), the datasheet's 64-bit formula; 0 if undefined."""
    var1 = t_fine - 128000
    var2 = var1 * var1 * cal[8]
    var2 = var2 + ((var1 * cal[7]) << 17)
    var2 = var2 + (cal[6] << 35)
    var1 = ((var1 * var1 * cal[5]) >> 8) + ((var1 * cal[4]) << 12)
    var1 = (((1 << 47) + var1) * cal[3]) >> 33
    if var1 == 0:
        return 0
    p = 1048576 - adc_p
    p = _div(((p << 31) - var2) * 3125, var1)
    var1 = (cal[11] * (p >> 13) * (p >> 13)) >> 25
    var2 = (cal[10] * p) >> 19
    return ((p + var1 + var2) >> 8) + (cal[9] << 4)


def compensate_h(cal, adc_h, t_fine):
    """Relative humidity in %RH as Q22.10 (divide by 1024), the datasheet's 32-bit formula."""
    h1, h2, h3, h4, h5, h6 = cal[12], cal[13], cal[14], cal[15], cal[16], cal[17]
    v = t_fine - 76800
    v = (((((adc_h << 14) - (h4 << 20) - (h5 * v)) + 16384) >> 15)
         * (((((((v * h6) >> 10) * (((v * h3) >> 11) + 32768)) >> 10) + 2097152) * h2 + 8192) >> 14))
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4)
    if v < 0:
        v = 0
    if v > 419430400:
        v = 419430400
    return v >> 12


class BME280(Sensor):
    SHAPE = {"temperature_c": float, "pressure_hpa": float, "humidity_pct": float}

    def __init__(self, i2c, addr=0x76, oversampling=1, standby_ms=1000, iir_filter=0):
        super().__init__()
        if standby_ms not in _STANDBY:
            raise ValueError("standby_ms must be one of %s" % sorted(_STANDBY))
        osrs = {1: 1, 2: 2, 4: 3, 8: 4, 16: 5}.get(oversampling)
        if osrs is None:
            raise ValueError("oversampling must be 1, 2, 4, 8 or 16")
        filt = {0: 0, 2: 1, 4: 2, 8: 3, 16: 4}.get(iir_filter)
        if filt is None:
            raise ValueError("iir_filter must be 0, 2, 4, 8 or 16")
        self.name = "bme280@0x%02x" % addr
        self.i2c = i2c
        self.addr = addr
        self._config = (_STANDBY[standby_ms] << 5) | (filt << 2)
        self._ctrl_meas = (osrs << 5) | (osrs << 2) | 0b11  # normal mode
        self._ctrl_hum = osrs
        self._cal_a = bytearray(26)
        self._cal_b = bytearray(7)
        self._data = bytearray(8)
        self._one = bytearray(1)
        self.cal = None  # calibration tuple once read

    def _write(self, reg, value):
        self._one[0] = value
        self.i2c.writeto_mem(self.addr, reg, self._one)

    def _setup(self):
        i2c, addr = self.i2c, self.addr
        i2c.readfrom_mem_into(addr, _REG_CHIP_ID, self._one)
        if self._one[0] != _CHIP_ID:
            self._fail("chip id 0x%02x at 0x%02x, expected 0x60 (a BMP280 answers 0x58)" % (self._one[0], addr))
        i2c.readfrom_mem_into(addr, _REG_CALIB_A, self._cal_a)
        i2c.readfrom_mem_into(addr, _REG_CALIB_B, self._cal_b)
        self._write(_REG_CONFIG, self._config)  # while still in sleep mode: writes in normal mode may be ignored
        self._write(_REG_CTRL_HUM, self._ctrl_hum)  # takes effect on the ctrl_meas write below
        self._write(_REG_CTRL_MEAS, self._ctrl_meas)
        self.cal = parse_calibration(self._cal_a, self._cal_b)

    def read_raw(self):
        """(adc_T, adc_P, adc_H) straight from the data registers, or None before the first measurement."""
        try:
            if self.cal is None:
                self._setup()
            self.i2c.readfrom_mem_into(self.addr, _REG_DATA, self._data)
        except SensorError:
            raise
        except OSError as e:
            self.cal = None  # set up again once the bus answers: the chip may have been power-cycled
            self._fail("i2c error", e)
        d = self._data
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == _SKIPPED:
            return self._wait("the chip has completed no measurement since setup; under a VirtualClock, "
                              "give the board the pipeline's clock: board.load(id, clock=clock)")
        self.waits = 0
        return adc_t, (d[0] << 12) | (d[1] << 4) | (d[2] >> 4), (d[6] << 8) | d[7]

    def read(self):
        raw = self.read_raw()
        if raw is None:
            return None
        cal = self.cal
        t, t_fine = compensate_t(cal, raw[0])
        p = compensate_p(cal, raw[1], t_fine)
        h = compensate_h(cal, raw[2], t_fine)
        self.samples += 1
        return {"temperature_c": t / 100, "pressure_hpa": p / 25600, "humidity_pct": h / 1024}
