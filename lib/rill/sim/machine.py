"""A ``machine``-compatible module for the host: the subset rill's drivers use.

Beyond MicroPython's API, tests drive the hardware: ``Pin.drive(level)`` and
``Pin.burst(n)`` make input edges (calling the IRQ handler as the hardware would,
without allocating), ``ADC.set_voltage(v)`` sets what an ADC reads, ``Timer.fire()``
runs a timer's callback, and ``I2C.attach(addr, device)`` plugs in a device model
(see ``rill.sim.device``). A simulated bus has ``now``, its board's clock (a real
``machine.I2C`` has none), which drivers that time a conversion read by default.
"""
import errno
import time


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = Pin.IN
        self.pull = None
        self._level = 0
        self._handler = None
        self._trigger = 0
        self.hard = False
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
            if pull == Pin.PULL_UP:
                self._level = 1
            elif pull == Pin.PULL_DOWN:
                self._level = 0
        if value is not None:
            self._level = 1 if value else 0

    def value(self, v=None):
        if v is None:
            return self._level
        self._level = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._level = 1

    def off(self):
        self._level = 0

    def toggle(self):
        self._level ^= 1

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self._handler = handler
        self._trigger = trigger
        self.hard = hard
        return self

    # -- test side -----------------------------------------------------------------

    def drive(self, level):
        """Set the level the outside world puts on this input; a change fires the IRQ."""
        level = 1 if level else 0
        if level != self._level:
            self._level = level
            self._edge(level)

    def burst(self, n):
        """``n`` alternating edges in a row, each calling the handler (allocates nothing)."""
        for _ in range(n):
            level = self._level ^ 1
            self._level = level
            self._edge(level)

    def _edge(self, level):
        h = self._handler
        if h is not None and self._trigger & (Pin.IRQ_RISING if level else Pin.IRQ_FALLING):
            h(self)


class ADC:
    """An ADC input reading a settable voltage (``read_u16`` full scale = ``vref``)."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None, vref=3.3):
        self.id = getattr(pin, "id", pin)
        self.vref = vref
        self._raw = 0

    def read_u16(self):
        return self._raw

    def set_raw(self, raw):
        self._raw = max(0, min(65535, int(raw)))

    def set_voltage(self, volts):
        self.set_raw(round(volts / self.vref * 65535))


class ADCuv(ADC):
    """An ESP32-style ADC, which also reports calibrated microvolts."""

    def read_uv(self):
        return round(self._raw * self.vref * 1000000 / 65535)


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


class I2C:
    """An I2C controller whose bus holds device models (``attach``)."""

    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.scl = scl
        self.sda = sda
        self.freq = freq
        self.devices = {}
        self.now = time.ticks_ms  # the simulated board's clock; drivers that time conversions use it

    def attach(self, addr, device):
        self.devices[addr] = device
        return device

    def detach(self, addr):
        self.devices.pop(addr, None)

    def _device(self, addr):
        for dev in self.devices.values():  # a device holding SDA low stalls the whole bus
            if dev.fault == "stuck" and dev.take_fault("stuck"):
                raise OSError(errno.ETIMEDOUT)
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(errno.ENODEV)
        dev.check()
        return dev

    def scan(self):
        found = []
        for addr in sorted(self.devices):
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


class SoftI2C(I2C):
    def __init__(self, scl=None, sda=None, freq=400000, timeout=50000):
        super().__init__(-1, scl, sda, freq, timeout)


def idle():
    pass


def unique_id():
    return b"rillsim0"


def freq():
    return 125000000
