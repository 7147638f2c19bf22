"""A simulated I2C device with a register file (the BME280 model's base)."""
from .device import Device


class Registers(Device):
    """A device with 256 byte registers and an auto-incrementing register pointer."""

    def __init__(self):
        super().__init__()
        self.regs = bytearray(256)
        self.pointer = 0

    def write(self, buf):
        if len(buf):
            self.pointer = buf[0]
            if len(buf) > 1:
                self.write_mem(buf[0], memoryview(buf)[1:])

    def read(self, buf):
        self.read_mem(self.pointer, buf)

    def write_mem(self, reg, buf):
        for i in range(len(buf)):
            self.on_write((reg + i) & 0xFF, buf[i])

    def read_mem(self, reg, buf):
        self.before_read(reg, len(buf))
        for i in range(len(buf)):
            buf[i] = self.regs[(reg + i) & 0xFF]
        self.pointer = (reg + len(buf)) & 0xFF

    def on_write(self, reg, value):
        self.regs[reg] = value

    def before_read(self, reg, n):
        pass
