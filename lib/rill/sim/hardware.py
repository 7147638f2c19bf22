"""One simulated board: its pins, ADC inputs, I2C bus and the chip's own sensor, and
``SimBoard``, the rill.board Board that hands them to the drivers.

Objects are shared: ``pin(15)`` returns the same Pin every time, so a test drives
the very pin a driver registered its IRQ on. The I2C bus starts with a BME280 at
0x76 and an SHT3x at 0x44 (``self.bme280``, ``self.sht3x``); ``chip_temperature``
feeds the RP2040's ADC channel 4 or the ESP32's ``esp32`` stand-in (``self.esp32``).

Heap: each model is made, and its module loaded, at first use: the bus's first
transaction to its address, a scan, or the attribute read (``__getattr__``). An app
that reads only the SHT3x never loads the BME280's model.

Time: every device model, and the bus (``i2c.now``, which drivers that time
conversions use by default), reads ``self.now``: the ``clock`` given (a pipeline's
VirtualClock), else real ``time.ticks_ms``. ``follow(clock)`` switches all of them.
"""
import time

from ..board import Board
from . import machine

RP2040_TEMP_CHANNEL = 4
_MODELS = {"bme280": 0x76, "sht3x": 0x44}  # the models the bus starts with


class SimHardware:
    def __init__(self, platform, i2c_id=0, celsius_api=False, clock=None):
        self.machine = machine
        self.platform = platform  # "rp2" or "esp32": which ADC flavour and chip sensor to mimic
        self._celsius_api = celsius_api
        self._pins = {}
        self._adcs = {}
        self.chip_temperature = 35.0
        self.i2c = machine.I2C(i2c_id)
        make = self._model
        for addr in _MODELS.values():
            self.i2c.pending[addr] = make
        self.follow(clock)

    def __getattr__(self, name):
        """``bme280``, ``sht3x`` and ``esp32`` (None off the ESP32), made at first use."""
        if name == "esp32":
            chip = None
            if self.platform == "esp32":
                from .esp32 import Esp32

                chip = Esp32(self._celsius_api, self.chip_temperature)
            self.esp32 = chip
            return chip
        addr = _MODELS.get(name)
        if addr is None:
            raise AttributeError(name)
        dev = self._model(addr)
        if addr in self.i2c.pending:  # still on the bus, as made at start
            self.i2c.attach(addr, dev)
        return dev

    def _model(self, addr):
        """The model the bus starts with at ``addr``, made now (the bus's ``pending`` maker)."""
        if addr == 0x76:
            from .bme280 import BME280Model as cls

            name = "bme280"
        else:
            from .sht3x import SHT3xModel as cls

            name = "sht3x"
        dev = cls(now=self.now)
        setattr(self, name, dev)
        return dev

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
            if id == RP2040_TEMP_CHANNEL and self.platform == "rp2":
                self.set_chip_temperature(self.chip_temperature)
        return a

    def set_chip_temperature(self, celsius):
        self.chip_temperature = celsius
        if self.platform == "esp32":
            self.esp32.temperature_c = celsius
        elif RP2040_TEMP_CHANNEL in self._adcs:  # else adc(4) sets it when made
            self._adcs[RP2040_TEMP_CHANNEL].set_voltage(0.706 - (celsius - 27) * 0.001721)


class SimBoard(Board):
    """A Board whose hardware is simulated: ``self.sim``, a SimHardware (what rill.board.load
    gives off the board's own port)."""

    def __init__(self, info, clock=None):
        super().__init__(info)
        i2c = self.pins.get("i2c") or {}
        self.sim = SimHardware(self.platform, i2c.get("id", 0), self._temp.endswith("mcu_temperature"), clock)

    def _machine(self):
        return machine

    def pin(self, id, mode=None, pull=None):
        return self.sim.pin(id, machine.Pin.IN if mode is None else mode, -1 if pull is None else pull)

    def i2c(self):
        self.require("i2c", "i2c()")
        return self.sim.i2c

    def _adc(self, id):
        return self.sim.adc(id)

    def _chip(self):
        return self.sim.esp32

    def _network(self):
        """rill.sim.network when the virtual board has networks in the air ($VBOARD_WIFI), else None."""
        from . import network

        return network if network.air() is not None else None
