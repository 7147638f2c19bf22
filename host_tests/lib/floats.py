"""Float comparison for the filter tests, in a module of its own: a test module that
imports another test module for it makes MicroPython compile that whole file in the
test's heap."""

TOL = 1e-6 if 1.0 + 1e-9 != 1.0 else 1e-5  # single-precision floats (ESP32, RP2040, Cortex-M): ~7 digits


def same(a, b, tol=TOL):
    """Equal, NaN equal to NaN, floats within ``tol`` (relative for big values)."""
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    if a != a or b != b:
        return a != a and b != b
    return abs(a - b) <= tol * (1 if abs(b) < 1 else abs(b))
