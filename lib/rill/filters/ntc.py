"""NTC thermistor filters: to_ntc_resistance, to_ntc_temperature, by Steinhart-Hart.
The three coefficients are worked out once, at construction, by rill.filters.fit
(loaded for that and unloaded again). NaN in gives NaN out, as in ESPHome.

Heap: three coefficients per filter; a result is a new float.
"""
from math import exp, log, sqrt

KELVIN = 273.15  # 0 °C
INF = float("inf")
NAN = float("nan")


def _coefficients(calibration):
    from .fit import steinhart_hart

    return steinhart_hart(calibration, KELVIN)


def _cbrt(v):
    return v ** (1 / 3) if v >= 0 else -((-v) ** (1 / 3))


class to_ntc_temperature:
    """Resistance (ohms) -> temperature (degrees Celsius) by Steinhart-Hart. A value that
    is not a finite positive resistance gives NaN. ``calibration``: ``{"a", "b", "c"}``,
    ``{"b_constant", "reference_temperature", "reference_resistance"}``, or three
    ``(ohms, celsius)`` datapoints."""

    def __init__(self, calibration):
        self.a, self.b, self.c = _coefficients(calibration)

    def __call__(self, x):
        if not 0 < x < INF:
            return NAN
        lr = log(x)
        return 1 / (self.a + self.b * lr + self.c * lr * lr * lr) - KELVIN


class to_ntc_resistance:
    """Temperature (degrees Celsius) -> resistance (ohms), the inverse of
    to_ntc_temperature. A value that is not finite, or below absolute zero, gives NaN."""

    def __init__(self, calibration):
        self.a, self.b, self.c = _coefficients(calibration)

    def __call__(self, x):
        if not -KELVIN < x < INF:
            return NAN
        if self.c == 0:  # the b_constant form
            return exp((1 / (x + KELVIN) - self.a) / self.b)
        return self._cubic(1 / (x + KELVIN))

    def _cubic(self, inv):
        a, b, c = self.a, self.b, self.c
        u = (a - inv) / c
        w = sqrt((b / (3 * c)) ** 3 + u * u / 4)
        return exp(_cbrt(w - u / 2) - _cbrt(w + u / 2))
