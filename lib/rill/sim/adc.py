"""The simulated ``machine.ADC`` and the ESP32 flavour (rill.sim.machine loads them at
first use): ``set_voltage(v)`` or ``set_raw(n)`` sets what the input reads."""


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
