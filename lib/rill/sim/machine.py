"""A ``machine``-compatible module for the host: the subset rill's drivers use.

Beyond MicroPython's API, tests drive the hardware: ``Pin.drive(level)`` and
``Pin.burst(n)`` make input edges (calling the IRQ handler as the hardware would,
without allocating), ``ADC.set_voltage(v)`` sets what an ADC reads, ``Timer.fire()``
runs a timer's callback, and ``I2C.attach(addr, device)`` plugs in a device model
(see ``rill.sim.device``). A simulated bus has ``now``, its board's clock (a real
``machine.I2C`` has none), which drivers that time a conversion read by default.

Heap: only I2C lives here. Pin, ADC/ADCuv and the rest (Timer, SoftI2C, idle, unique_id,
freq; RTC, deepsleep, reset_cause) live in rill.sim.pin, .adc, .extras and .power, loaded at first use (``__getattr__``
below), so a simulated board pays only for what its app touches;
a bus's ``pending`` models are made at their first transaction (``rill.sim.hardware``).
"""
import errno
import time


class I2C:
    """An I2C controller whose bus holds device models (``attach``)."""

    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.scl = scl
        self.sda = sda
        self.freq = freq
        self.devices = {}
        self.pending = {}  # addr -> make(addr): a device model made at its first transaction
        self.now = time.ticks_ms  # the simulated board's clock; drivers that time conversions use it

    def attach(self, addr, device):
        self.pending.pop(addr, None)
        self.devices[addr] = device
        return device

    def detach(self, addr):
        self.devices.pop(addr, None)
        self.pending.pop(addr, None)

    def _device(self, addr):
        for dev in self.devices.values():  # a device holding SDA low stalls the whole bus
            if dev.fault == "stuck" and dev.take_fault("stuck"):
                raise OSError(errno.ETIMEDOUT)
        dev = self.devices.get(addr)
        if dev is None:
            make = self.pending.get(addr)
            if make is None:
                raise OSError(errno.ENODEV)
            dev = self.attach(addr, make(addr))
        dev.check()
        return dev

    def scan(self):
        found = []
        for addr in sorted(set(self.devices) | set(self.pending)):
            try:
                self._device(addr)
                found.append(addr)
            except OSError as e:
                if e.args and e.args[0] == errno.ETIMEDOUT:
                    raise
        return found

    def writeto(self, addr, buf, stop=True):
        self._device(addr).write(buf)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr).read(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._device(addr).write_mem(memaddr, buf)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._device(addr).read_mem(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)


_LAZY = {"Pin": "pin", "ADC": "adc", "ADCuv": "adc", "Timer": "extras", "SoftI2C": "extras", "idle": "extras",
         "unique_id": "extras", "freq": "extras", "RTC": "power", "deepsleep": "power", "lightsleep": "power",
         "reset_cause": "power", "DEEPSLEEP_RESET": "power", "PWRON_RESET": "power",
         "slept_ms": "power"}


def __getattr__(name):
    """Pin, ADC, ADCuv, Timer, SoftI2C, RTC, deepsleep...: imported from their module (rill.sim.pin,
    .power...) at first use."""
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(name)
    value = getattr(__import__("rill.sim." + mod, None, None, (name,)), name)
    globals()[name] = value  # found directly from now on
    return value
