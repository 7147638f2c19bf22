"""Fitting the calibration filters, run once by their constructors: least squares,
the exact segments, a polynomial, Steinhart-Hart coefficients. Each function unloads
this module before it returns, so none of this code stays in the heap while the
filters run (rill.filters.calibrate, rill.filters.ntc keep only the fitted numbers).
"""
import sys
from math import log

INF = float("inf")


def _unload():
    sys.modules.pop("rill.filters.fit", None)
    sys.modules["rill.filters"].__dict__.pop("fit", None)


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


def linear(datapoints, method):
    """calibrate_linear's (slope, bias, segments): segments None for least squares, else
    a tuple of (upper measured limit, slope, bias), the last limit INF. Exact mode takes
    the datapoints sorted by measured value, as ESPHome does."""
    try:
        pts = _pairs(datapoints, 2, "calibrate_linear")
        if method == "least_squares":
            return _line(pts) + (None,)
        if method != "exact":
            raise ValueError("calibrate_linear method is least_squares or exact, not %r" % (method,))
        segs = []
        for i in range(len(pts) - 1):  # in the order given: ESPHome refuses unsorted ones, so does rill
            (x1, y1), (x2, y2) = pts[i], pts[i + 1]
            if x1 == x2:
                raise ValueError("calibrate_linear exact needs distinct measured values")
            if x2 < x1:
                raise ValueError("calibrate_linear exact needs its datapoints sorted by measured value, "
                                 "ascending (%r comes after %r)" % (x2, x1))
            k = (y2 - y1) / (x2 - x1)
            segs.append((x2 if i < len(pts) - 2 else INF, k, y1 - k * x1))
        return None, None, tuple(segs)
    finally:
        _unload()


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


def polynomial(datapoints, degree):
    """calibrate_polynomial's coefficients (lowest power first), by least squares."""
    try:
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
        return tuple(_solve(m, v))
    finally:
        _unload()


def steinhart_hart(calibration, kelvin):
    """(a, b, c) from ``{"a", "b", "c"}``, from ``{"b_constant", "reference_temperature",
    "reference_resistance"}`` (c is 0), or from three ``(ohms, celsius)`` datapoints;
    ``kelvin`` is 0 °C in kelvin."""
    try:
        if isinstance(calibration, dict):
            if "b_constant" in calibration:
                beta = calibration["b_constant"]
                t0 = calibration["reference_temperature"] + kelvin
                return 1 / t0 - log(calibration["reference_resistance"]) / beta, 1 / beta, 0.0
            return calibration["a"], calibration["b"], calibration["c"]
        if len(calibration) != 3:
            raise ValueError("NTC calibration takes three (ohms, celsius) datapoints")
        (r1, t1), (r2, t2), (r3, t3) = calibration
        l1, l2, l3 = log(r1), log(r2), log(r3)
        y1, y2, y3 = 1 / (t1 + kelvin), 1 / (t2 + kelvin), 1 / (t3 + kelvin)
        g2 = (y2 - y1) / (l2 - l1)
        g3 = (y3 - y1) / (l3 - l1)
        c = (g3 - g2) / (l3 - l2) / (l1 + l2 + l3)
        b = g2 - c * (l1 * l1 + l1 * l2 + l2 * l2)
        return y1 - (b + l1 * l1 * c) * l1, b, c
    finally:
        _unload()
