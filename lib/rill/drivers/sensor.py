"""What every polled driver shares: failure counting, and one error type to raise.

A failed sample (bus error, bad CRC, invalid reading) increments ``failures``, keeps
the reason in ``last_error`` and raises ``SensorError``, an ``OSError``; a periodic
source counts the raise and emits its declared ``missing`` value, so a flaky sensor
never stops the pipeline. ``read()`` returns None only for "no data yet".
"""


class SensorError(OSError):
    pass


class Sensor:
    name = "sensor"

    def __init__(self):
        self.samples = 0  # good readings
        self.failures = 0  # failed readings
        self.last_error = None

    def _fail(self, reason, exc=None):
        self.failures += 1
        self.last_error = reason if exc is None else "%s (%s)" % (reason, exc)
        raise SensorError("%s: %s" % (self.name, self.last_error))

    def stats(self):
        return {"samples": self.samples, "failures": self.failures, "last_error": self.last_error}
