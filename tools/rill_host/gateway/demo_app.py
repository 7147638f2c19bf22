"""The app ``rill fleet`` devices feed: the device's own transforms, run per device.

Each fleet device publishes record ``reading`` = ``{"t": celsius, "ts": unix time}``; per
device, the gateway smooths ``t`` with ``rill.filters`` (moving average of 5) and keeps
the alarm edges with the example firmware's own ``Alarm`` (firmware/app.py: above 25.0 C,
clear below 24.7 C), and stores ``temp``, ``smooth`` and ``alarm`` per message.
"""
import importlib.util
import os

from rill.filters import lambda_, sliding_window_moving_average
from rill_host import EXAMPLE

INPUTS = ("reading",)
OUTPUTS = ("temp", "smooth", "alarm")


def _firmware_app():
    spec = importlib.util.spec_from_file_location("rill_example_app", os.path.join(EXAMPLE, "app.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


Alarm = _firmware_app().Alarm


def pipeline(p):
    p.record("reading", {"t": float, "ts": float})
    p.record("temp", float)
    p.record("smooth", float)
    p.record("alarm", bool)
    p.transform("temp", lambda_(lambda r: r["t"]), "reading")
    p.transform("smooth", sliding_window_moving_average(5, 1), "temp")
    p.transform("alarm", Alarm(25.0, 0.3), "smooth")
