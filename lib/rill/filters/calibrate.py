"""Calibration filters: calibrate_linear, calibrate_polynomial, to_ntc_resistance,
to_ntc_temperature. Fitted once, at construction (the only time they allocate);
datapoints are ``(measured, truth)`` pairs, as ESPHome's ``MEASURED -> TRUTH``.
NaN in gives NaN out, as in ESPHome.

Heap: calibrate_linear keeps 3 floats per segment (one for least squares, one per gap
between datapoints for ``method="exact"``); calibrate_polynomial keeps degree+1
coefficients; the NTC filters keep three Steinhart-Hart coefficients.
"""
from math import exp, log, sqrt

from .common import INF, NAN

_KELVIN = 273.15


def _pairs(datapoints, need, what):
    pts = [(float(p[0]), float(p[1])) for p in datapoints]
    if len(pts) < need:
        raise ValueError("%s needs at least %d datapoints" % (what, need))
    return pts


def _line(pts):
    """Least-squares (slope, bias) through ``pts``."""
    n = len(pts)
    sx = sy = sxx = sxy = 0.0
    for x, y in pts:
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
    den = n * sxx - sx * sx
    if den == 0:
        raise ValueError("calibrate_linear needs two different measured values")
    slope = (n * sxy - sx * sy) / den
    return slope, (sy - slope * sx) / n


class calibrate_linear:
    """Map measured values to true ones through ``datapoints``: ``method="least_squares"``
    (the default) fits one line; ``method="exact"`` joins neighbouring datapoints with
    straight segments and extends the outer two beyond the ends."""

    def __init__(self, datapoints, method="least_squares"):
        pts = _pairs(datapoints, 2, "calibrate_linear")
        self.segs = None
        if method == "least_squares":
            self.slope, self.bias = _line(pts)
        elif method == "exact":
            pts.sort()
            segs = []
            for i in range(len(pts) - 1):
                (x1, y1), (x2, y2) = pts[i], pts[i + 1]
                if x1 == x2:
                    raise ValueError("calibrate_linear exact needs distinct measured values")
                k = (y2 - y1) / (x2 - x1)
                segs.append((x2 if i < len(pts) - 2 else INF, k, y1 - k * x1))
            self.segs = tuple(segs)
        else:
            raise ValueError("calibrate_linear method is least_squares or exact, not %r" % (method,))

    def __call__(self, x):  # small frames stay on the C stack: the loop lives in _exact
        if self.segs is None:
            return self.slope * x + self.bias
        return self._exact(x)

    def _exact(self, x):
        for limit, k, b in self.segs:
            if x < limit or limit == INF:
                return x * k + b
        return NAN


def _solve(m, v):
    """Solve the square system ``m c = v`` by Gaussian elimination with pivoting."""
    n = len(v)
    for col in range(n):
        piv = col
        for r in range(col + 1, n):
            if abs(m[r][col]) > abs(m[piv][col]):
                piv = r
        if m[piv][col] == 0:
            raise ValueError("calibrate_polynomial datapoints do not fix a polynomial of that degree")
        m[col], m[piv] = m[piv], m[col]
        v[col], v[piv] = v[piv], v[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n):
                m[r][c] -= f * m[col][c]
            v[r] -= f * v[col]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        s = v[r]
        for c in range(r + 1, n):
            s -= m[r][c] * out[c]
        out[r] = s / m[r][r]
    return out


class calibrate_polynomial:
    """Least-squares polynomial of ``degree`` through ``datapoints``. ``coefficients``
    (lowest power first) are kept for inspection."""

    def __init__(self, datapoints, degree):
        pts = _pairs(datapoints, degree + 1, "calibrate_polynomial of degree %d" % degree)
        n = degree + 1
        m = [[0.0] * n for _ in range(n)]
        v = [0.0] * n
        for x, y in pts:
            powers = [x ** k for k in range(2 * n - 1)]
            for r in range(n):
                v[r] += powers[r] * y
                for c in range(n):
                    m[r][c] += powers[r + c]
        self.coefficients = tuple(_solve(m, v))

    def __call__(self, x):
        res = 0.0
        for k in range(len(self.coefficients) - 1, -1, -1):
            res = res * x + self.coefficients[k]
        return res


def steinhart_hart(calibration):
    """(a, b, c) from ``{"a", "b", "c"}``, from ``{"b_constant", "reference_temperature",
    "reference_resistance"}`` (c is 0), or from three ``(ohms, celsius)`` datapoints."""
    if isinstance(calibration, dict):
        if "b_constant" in calibration:
            beta = calibration["b_constant"]
            t0 = calibration["reference_temperature"] + _KELVIN
            return 1 / t0 - log(calibration["reference_resistance"]) / beta, 1 / beta, 0.0
        return calibration["a"], calibration["b"], calibration["c"]
    if len(calibration) != 3:
        raise ValueError("NTC calibration takes three (ohms, celsius) datapoints")
    (r1, t1), (r2, t2), (r3, t3) = calibration
    l1, l2, l3 = log(r1), log(r2), log(r3)
    y1, y2, y3 = 1 / (t1 + _KELVIN), 1 / (t2 + _KELVIN), 1 / (t3 + _KELVIN)
    g2 = (y2 - y1) / (l2 - l1)
    g3 = (y3 - y1) / (l3 - l1)
    c = (g3 - g2) / (l3 - l2) / (l1 + l2 + l3)
    b = g2 - c * (l1 * l1 + l1 * l2 + l2 * l2)
    return y1 - (b + l1 * l1 * c) * l1, b, c


def _cbrt(v):
    return v ** (1 / 3) if v >= 0 else -((-v) ** (1 / 3))


class to_ntc_temperature:
    """Resistance (ohms) -> temperature (degrees Celsius) by Steinhart-Hart. A value that
    is not a finite positive resistance gives NaN."""

    def __init__(self, calibration):
        self.a, self.b, self.c = steinhart_hart(calibration)

    def __call__(self, x):
        if not 0 < x < INF:
            return NAN
        lr = log(x)
        return 1 / (self.a + self.b * lr + self.c * lr * lr * lr) - _KELVIN


class to_ntc_resistance:
    """Temperature (degrees Celsius) -> resistance (ohms), the inverse of
    to_ntc_temperature. A value that is not finite, or below absolute zero, gives NaN."""

    def __init__(self, calibration):
        self.a, self.b, self.c = steinhart_hart(calibration)

    def __call__(self, x):
        if not -_KELVIN < x < INF:
            return NAN
        if self.c == 0:  # the b_constant form
            return exp((1 / (x + _KELVIN) - self.a) / self.b)
        return self._cubic(1 / (x + _KELVIN))

    def _cubic(self, inv):
        a, b, c = self.a, self.b, self.c
        u = (a - inv) / c
        w = sqrt((b / (3 * c)) ** 3 + u * u / 4)
        return exp(_cbrt(w - u / 2) - _cbrt(w + u / 2))
