"""The app ``rill fleet`` devices feed: the same rill.filters transforms a device would run.

Each fleet device publishes record ``reading`` = ``{"t": celsius, "ts": unix time}``; per
device, the gateway smooths ``t`` (moving average of 5) and keeps the alarm edges
(above 25.0 C, clear below 24.7 C), and stores ``smooth`` and ``alarm`` per message.
"""
from rill.filters import lambda_, sliding_window_moving_average

INPUTS = ("reading",)
OUTPUTS = ("temp", "smooth", "alarm")


class Alarm:
    """True above ``threshold``, False below ``threshold - hysteresis``; edges only."""

    def __init__(self, threshold=25.0, hysteresis=0.3):
        self.threshold, self.hysteresis, self.on = threshold, hysteresis, None

    def __call__(self, t):
        on = self.on
        if t > self.threshold:
            on = True
        elif t < self.threshold - self.hysteresis or on is None:
            on = False
        if on == self.on:
            return None
        self.on = on
        return on


def pipeline(p):
    p.record("reading", {"t": float, "ts": float})
    p.record("temp", float)
    p.record("smooth", float)
    p.record("alarm", bool)
    p.transform("temp", lambda_(lambda r: r["t"]), "reading")
    p.transform("smooth", sliding_window_moving_average(5, 1), "temp")
    p.transform("alarm", Alarm(), "smooth")
