"""What every polled driver shares: failure counting, and one error type to raise.

A failed sample (bus error, bad CRC, invalid reading) increments ``failures``, keeps
the reason in ``last_error`` and raises ``SensorError``, an ``OSError``; a periodic
source counts the raise and emits its declared ``missing`` value, so a flaky sensor
never stops the pipeline. ``read()`` returns None only for "no data yet", and at
most ``WAIT_LIMIT`` times in a row: then it fails, saying why (typically a sensor
timed by another clock than the pipeline's), so a sensor is never silently quiet.
"""
WAIT_LIMIT = 3


class SensorError(OSError):
    pass


class Sensor:
    name = "sensor"

    def __init__(self):
        self.samples = 0  # good readings
        self.failures = 0  # failed readings
        self.last_error = None
        self.waits = 0  # reads in a row that had no data yet

    def _wait(self, why, arg=None):
        """A read with no data yet: None, or a failure once that happens ``WAIT_LIMIT`` times
        in a row, saying ``why`` (``why % arg`` with an ``arg``: formatted only then, so a
        driver keeps no formatted text per instance)."""
        self.waits += 1
        if self.waits >= WAIT_LIMIT:
            self.waits = 0
            self._fail("no value in %d reads in a row: %s" % (WAIT_LIMIT, why if arg is None else why % arg))

    def _fail(self, reason, exc=None):
        self.failures += 1
        self.last_error = reason if exc is None else "%s (%s)" % (reason, exc)
        raise SensorError("%s: %s" % (self.name, self.last_error))

    def stats(self):
        return {"samples": self.samples, "failures": self.failures, "last_error": self.last_error}
