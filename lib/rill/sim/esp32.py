"""Stand-in for the ESP32 port's ``esp32`` module: the chip's own temperature sensor.

``Esp32(celsius_api=False)`` has ``raw_temperature()`` (°F, as on the original ESP32);
``celsius_api=True`` has ``mcu_temperature()`` (°C, as on the ESP32-S2/S3/C3) instead.
Set ``temperature_c``; ``raw_value`` forces a raw reading (128 = the invalid one).
"""


class Esp32:
    def __init__(self, celsius_api=False, temperature_c=40.0):
        self.temperature_c = temperature_c
        self.raw_value = None
        if celsius_api:
            self.mcu_temperature = self._celsius
        else:
            self.raw_temperature = self._fahrenheit

    def _celsius(self):
        return round(self.temperature_c)

    def _fahrenheit(self):
        if self.raw_value is not None:
            return self.raw_value
        return round(self.temperature_c * 1.8 + 32)
