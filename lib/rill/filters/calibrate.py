"""Calibration filters: calibrate_linear, calibrate_polynomial. Fitted once, at
construction (the only time they allocate), by rill.filters.fit, which is loaded for
that and unloaded again; datapoints are ``(measured, truth)`` pairs, as ESPHome's
``MEASURED -> TRUTH``. NaN in gives NaN out, as in ESPHome.

Heap: calibrate_linear keeps 3 floats per segment (one for least squares, one per gap
between datapoints for ``method="exact"``); calibrate_polynomial keeps degree+1
coefficients.
"""


class calibrate_linear:
    """Map measured values to true ones through ``datapoints``: ``method="least_squares"``
    (the default) fits one line; ``method="exact"`` joins neighbouring datapoints with
    straight segments and extends the outer two beyond the ends."""

    def __init__(self, datapoints, method="least_squares"):
        from .fit import linear

        self.slope, self.bias, self.segs = linear(datapoints, method)

    def __call__(self, x):  # small frames stay on the C stack: the loop lives in _exact
        if self.segs is None:
            return self.slope * x + self.bias
        return self._exact(x)

    def _exact(self, x):
        for limit, k, b in self.segs:
            if x < limit:
                return x * k + b
        return x * k + b  # beyond the last datapoint (its limit is inf), or NaN: the last segment


class calibrate_polynomial:
    """Least-squares polynomial of ``degree`` through ``datapoints``. ``coefficients``
    (lowest power first) are kept for inspection."""

    def __init__(self, datapoints, degree):
        from .fit import polynomial

        self.coefficients = polynomial(datapoints, degree)

    def __call__(self, x):
        res = 0.0
        for k in range(len(self.coefficients) - 1, -1, -1):
            res = res * x + self.coefficients[k]
        return res
