"""One simulated board: its pins, ADC inputs, I2C bus and the chip's own sensor.

Objects are shared: ``pin(15)`` returns the same Pin every time, so a test drives
the very pin a driver registered its IRQ on. The I2C bus starts with a BME280 at
0x76 and an SHT3x at 0x44 (``self.bme280``, ``self.sht3x``); ``chip_temperature``
feeds the RP2040's ADC channel 4 or the ESP32's ``esp32`` stand-in.

Time: every device model, and the bus (``i2c.now``, which drivers that time
conversions use by default), reads ``self.now``: the ``clock`` given (a pipeline's
VirtualClock), else real ``time.ticks_ms``. ``follow(clock)`` switches all of them.
"""
import time

from . import machine
from .bme280 import BME280Model
from .esp32 import Esp32
from .sht3x import SHT3xModel

RP2040_TEMP_CHANNEL = 4


class SimHardware:
    def __init__(self, platform, i2c_id=0, celsius_api=False, clock=None):
        self.machine = machine
        self.platform = platform  # "rp2" or "esp32": which ADC flavour and chip sensor to mimic
        self._pins = {}
        self._adcs = {}
        self.i2c = machine.I2C(i2c_id)
        self.bme280 = self.i2c.attach(0x76, BME280Model())
        self.sht3x = self.i2c.attach(0x44, SHT3xModel())
        self.esp32 = Esp32(celsius_api) if platform == "esp32" else None
        self.set_chip_temperature(35.0)
        self.follow(clock)

    def follow(self, clock):
        """Time every model and the bus by ``clock`` (None: real time)."""
        now = time.ticks_ms if clock is None else clock.now
        self.clock = clock
        self.now = self.i2c.now = now
        for dev in self.i2c.devices.values():
            if hasattr(dev, "now"):
                dev.now = now

    def pin(self, id, mode=-1, pull=-1):
        p = self._pins.get(id)
        if p is None:
            p = self._pins[id] = machine.Pin(id, mode, pull)
        else:
            p.init(mode, pull)
        return p

    def adc(self, id):
        a = self._adcs.get(id)
        if a is None:
            cls = machine.ADCuv if self.platform == "esp32" else machine.ADC
            a = self._adcs[id] = cls(id)
        return a

    def set_chip_temperature(self, celsius):
        self.chip_temperature = celsius
        if self.esp32 is not None:
            self.esp32.temperature_c = celsius
        else:
            self.adc(RP2040_TEMP_CHANNEL).set_voltage(0.706 - (celsius - 27) * 0.001721)
