"""The microcontroller's own temperature sensor, in °C.

- RP2040: ADC channel 4, T = 27 - (V - 0.706) / 0.001721 (RP2040 datasheet, temperature sensor),
  averaged over a few samples; expect a few degrees of offset per chip.
- ESP32 family: ``esp32.mcu_temperature()`` (°C; ESP32-S2/S3/C3) where the firmware
  has it, else ``esp32.raw_temperature()`` (°F; original ESP32), whose reading of 128
  means "no valid value" and is counted as a failure.

It measures the die, which runs warmer than the air: useful for health, not weather.
``rill.board`` builds the right one: ``board.mcu_temp()``.
"""
from .sensor import Sensor


class RP2040Temp(Sensor):
    def __init__(self, adc, samples=4, vref=3.3):
        super().__init__()
        self.name = "rp2040-temp"
        self.adc = adc
        self.vref = vref
        self.n = samples

    def read(self):
        read = self.adc.read_u16
        total = 0
        try:
            for _ in range(self.n):
                total += read()
        except OSError as e:
            self._fail("adc error", e)
        volts = total / self.n * self.vref / 65535
        self.samples += 1
        return 27 - (volts - 0.706) / 0.001721


class ESP32Temp(Sensor):
    def __init__(self, esp32):
        super().__init__()
        self.name = "esp32-temp"
        self._celsius = getattr(esp32, "mcu_temperature", None)
        self._fahrenheit = None if self._celsius else esp32.raw_temperature

    def read(self):
        try:
            v = self._celsius() if self._celsius else self._fahrenheit()
        except OSError as e:
            self._fail("temperature sensor error", e)
        if self._celsius:
            c = float(v)
        elif v == 128:
            self._fail("raw_temperature() returned 128, the sensor's invalid value")
        else:
            c = (v - 32) / 1.8
        self.samples += 1
        return c
