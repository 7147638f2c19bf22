"""The board a pipeline runs on: its pins and capabilities, from boards/<ID>/board.json,
and its hardware objects: the real ``machine`` on the board, ``rill.sim`` elsewhere.

    b = board.load("RPI_PICO")            # simulated on the host, real on a Pico
    env = BME280(b.i2c())
    btn = b.button()
    b.require("network", "MQTT sink 'cloud'")   # BoardError on a board without Wi-Fi

Drivers never choose: they get their bus, pin or ADC from here. Board files are read
from ``<root>/boards/<ID>/board.json``, where root holds ``lib/`` (the repository on
the host, ``/`` on a device: deploy the board file to ``/boards/<ID>/board.json``).

Heap: only what every board runs lives here. ``available()``, ``detect()``, the texts
of BoardErrors and the completion of a repository's board file are in rill.boardhelp,
loaded at first use; a deploy stages the board file already completed (its MCU's facts
written in, host-only fields left out), so a device never loads it.
"""
import json
import os
import sys


class BoardError(Exception):
    pass


def __getattr__(name):
    """available(), detect() and the rest of the cold half: rill.boardhelp, loaded at first use."""
    if name[:2] == "__":  # what importers probe for (__path__, __spec__...)
        raise AttributeError(name)
    from . import boardhelp

    return getattr(boardhelp, name)


def _error(name, *args):
    """The BoardError whose text rill.boardhelp's ``name`` makes from ``args``."""
    from . import boardhelp

    return BoardError(getattr(boardhelp, name)(*args))


# Where boards/ is: $RILL_ROOT (hosts that run compiled copies), else the checkout that
# holds this lib/, else the rill_host package installed beside this one (pip), else / (a
# device). Worked out once, at import: module-level code is freed after it runs, a function would stay.
_ROOT = getattr(os, "getenv", lambda name: None)("RILL_ROOT")  # the unix port and CPython have getenv
if not _ROOT:
    _ROOT = globals().get("__file__", "").replace("\\", "/")  # a port may leave __file__ out
    if "/site-packages/rill/" in _ROOT:
        _ROOT = _ROOT[:_ROOT.rfind("/rill/")] + "/rill_host"
    elif "/lib/rill/" in _ROOT:
        _ROOT = _ROOT[:_ROOT.rfind("/lib/rill/")]
    else:
        _ROOT = "." if _ROOT.startswith("lib/") else ""


def board_file(board_id):
    return "%s/boards/%s/board.json" % (_ROOT, board_id)


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise _error("unreadable", path, e)


def load(board_id=None, sim=None, path=None, clock=None):
    """The Board for ``board_id`` (default: detected). ``sim=None`` picks real hardware
    when running on the board's own port and simulated hardware otherwise. Simulated
    devices keep time by ``clock``: give the VirtualClock the pipeline starts with
    (``b.sim.follow(clock)`` changes it later); default real time."""
    if path is None:
        if board_id is None:
            from .boardhelp import detect

            board_id = detect()
        path = board_file(board_id)
    info = _read(path)
    if "platform" not in info:  # as the repository keeps it, not as a deploy stages it
        from .boardhelp import complete

        info = complete(info)
    real = sys.platform == info["platform"]
    if sim is None:
        sim = not real
    elif not sim and not real:
        raise _error("not_here", info["id"], info["platform"], sys.platform)
    if sim:
        from .sim.hardware import SimBoard

        return SimBoard(info, clock)
    return Board(info)


class Board:
    """A board's capabilities and its real hardware (``rill.sim.hardware.SimBoard``: simulated)."""

    sim = None  # a simulated board's SimHardware

    def __init__(self, info):
        self.name = info["id"]
        self.title = info.get("name", self.name)
        self.mcu = info["mcu"]
        self.pins = info.get("pins", {})
        self.network = info.get("network", "none")
        self.heap_budget = info.get("heap_budget_kb", 0) * 1024
        self.platform = info["platform"]  # sys.platform of the MCU's port
        self.hard_irq = info["pin_irq_hard"]
        self._temp = info["temp_sensor"]  # how the chip reads its own temperature (boards/mcus.json)
        self._i2c = None

    def __repr__(self):
        return "<Board %s (%s, %s)>" % (self.name, self.mcu, "simulated" if self.sim else "real")

    # -- capabilities --------------------------------------------------------------

    def has(self, capability):
        if capability in ("network", "wifi"):
            return self.network == "wifi"
        if capability in ("i2c", "adc", "button", "led"):
            return bool(self.pins.get(capability))
        if capability == "mcu_temp":
            return True
        if capability == "hard_irq":
            return self.hard_irq
        return False

    def require(self, capability, why=""):
        """Raise BoardError, saying what needs ``capability`` and what to do, unless the board has it."""
        if not self.has(capability):
            raise _error("missing", self, capability, why)

    # -- hardware ------------------------------------------------------------------

    def _machine(self):
        import machine

        return machine

    def pin(self, id, mode=None, pull=None):
        """A machine.Pin (an input unless ``mode`` says otherwise)."""
        import machine

        return machine.Pin(id, machine.Pin.IN if mode is None else mode, pull)

    def i2c(self):
        """The board's I2C bus (one shared object)."""
        if self._i2c is None:
            self.require("i2c", "i2c()")
            cfg = self.pins["i2c"]
            import machine

            self._i2c = machine.I2C(cfg.get("id", 0), sda=machine.Pin(cfg["sda"]), scl=machine.Pin(cfg["scl"]),
                                    freq=cfg.get("freq", 400000))
        return self._i2c

    def _adc(self, id):
        import machine

        if self.platform == "esp32":  # 11 dB: the full 0..3.3 V range (read_uv() applies the calibration)
            return machine.ADC(machine.Pin(id), atten=machine.ADC.ATTN_11DB)
        return machine.ADC(id)

    def _chip(self):
        """The ESP32 port's ``esp32`` module (the chip's temperature sensor)."""
        import esp32

        return esp32

    def adc(self, gpio):
        """A machine.ADC on ``gpio``, which must be one of the board's ADC inputs."""
        if gpio not in (self.pins.get("adc") or ()):
            raise _error("not_adc", self, gpio)
        return self._adc(gpio)

    def analog(self, gpio, **kw):
        """An ``Analog`` driver (volts, averaged) on ADC input ``gpio``."""
        from .drivers.analog import Analog

        return Analog(self.adc(gpio), **kw)

    def button(self, **kw):
        """A ``DigitalInput`` on the board's button pin (IRQ on both edges)."""
        from .drivers.button import DigitalInput

        self.require("button", "button()")
        cfg = self.pins["button"]
        m = self._machine()
        pull = {"up": m.Pin.PULL_UP, "down": m.Pin.PULL_DOWN}.get(cfg.get("pull"))
        kw.setdefault("active_low", cfg.get("active_low", False))
        kw.setdefault("hard", self.hard_irq)
        return DigitalInput(self.pin(cfg["pin"], m.Pin.IN, pull), **kw)

    def led(self):
        """The on-board LED as an output Pin."""
        self.require("led", "led()")
        cfg = self.pins["led"]
        if cfg.get("type", "gpio") != "gpio":
            raise _error("not_plain_led", self, cfg)
        return self.pin(cfg["pin"], self._machine().Pin.OUT)

    def mcu_temp(self):
        """A driver for the chip's own temperature sensor, in °C."""
        from .drivers import mcu_temp

        if self._temp == "adc":
            return mcu_temp.RP2040Temp(self._adc(4))
        return mcu_temp.ESP32Temp(self._chip())

    def wifi(self, ssid, password, ap=None, **kw):
        """A ``WiFi`` connection keeper; on a board without Wi-Fi it says so in its status. With no
        ``ssid`` and ``ap`` (config.json's ``wifi.ap``: the access point's settings) it first serves
        the first-configuration page (rill.portal)."""
        from .wifi import WiFi

        if not self.has("network"):
            return WiFi(None, ssid, password, unavailable="board %s has no networking" % self.name, **kw)
        net = self._network()
        if net is None:
            return WiFi(None, ssid, password, unavailable="no wifi hardware (simulated %s)" % self.name, **kw)
        if not ssid and ap is not None:
            kw.update(ap=net.WLAN(net.AP_IF), portal=ap)
        return WiFi(net.WLAN(net.STA_IF), ssid, password, **kw)

    def _network(self):
        import network

        return network
