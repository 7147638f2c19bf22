"""Base for simulated I2C devices: fault injection (``rill.sim.registers`` adds a register file).

Faults, injected with ``inject(kind, times=-1)`` (-1 = until ``clear()``):
"nack" (OSError ENODEV: the address is not acknowledged), "io" (OSError EIO),
"stuck" (OSError ETIMEDOUT on every transaction on the bus, as when SDA is held
low), "crc" (devices with checksums send a corrupt one). Each faulty transaction
uses up one of ``times``.
"""
import errno

_ERRNO = {"nack": errno.ENODEV, "io": errno.EIO, "stuck": errno.ETIMEDOUT}


class Device:
    def __init__(self):
        self.fault = None
        self.fault_times = 0
        self.transactions = 0

    def inject(self, kind, times=-1):
        if kind not in ("nack", "io", "stuck", "crc"):
            raise ValueError("fault must be 'nack', 'io', 'stuck' or 'crc'")
        self.fault = kind
        self.fault_times = times

    def clear(self):
        self.fault = None

    def take_fault(self, kind):
        """True (using one up) if fault ``kind`` is active for this transaction."""
        if self.fault != kind:
            return False
        if self.fault_times > 0:
            self.fault_times -= 1
            if self.fault_times == 0:
                self.fault = None
        return True

    def check(self):
        """Called by the bus before each transaction: raise the injected bus error, if any."""
        self.transactions += 1
        kind = self.fault
        if kind in _ERRNO and self.take_fault(kind):
            raise OSError(_ERRNO[kind])

    def write(self, buf):
        raise OSError(errno.EIO)

    def read(self, buf):
        raise OSError(errno.EIO)

    def write_mem(self, reg, buf):
        raise OSError(errno.EIO)

    def read_mem(self, reg, buf):
        raise OSError(errno.EIO)
