"""The board a pipeline runs on: its pins and capabilities, from boards/<ID>/board.json,
and its hardware objects: the real ``machine`` on the board, ``rill.sim`` elsewhere.

    b = board.load("RPI_PICO")            # simulated on the host, real on a Pico
    env = BME280(b.i2c())
    btn = b.button()
    b.require("network", "MQTT sink 'cloud'")   # BoardError on a board without Wi-Fi

Drivers never choose: they get their bus, pin or ADC from here. Board files are read
from ``<root>/boards/<ID>/board.json``, where root holds ``lib/`` (the repository on
the host, ``/`` on a device: deploy the board file to ``/boards/<ID>/board.json``).
"""
import json
import os
import sys

# MCU -> (sys.platform of its port, pin IRQs may be hard, how the chip reads its own temperature).
# The same facts, in full, are in boards/mcus.json; test_boards.py keeps the two in step.
_MCU = {
    "RP2040": ("rp2", True, "adc"),
    "ESP32": ("esp32", False, "raw_temperature"),
    "ESP32-S3": ("esp32", False, "mcu_temperature"),
}

_HINTS = {
    "network": 'use a board whose board.json says "network": "wifi" (RPI_PICO_W, ESP32_GENERIC, ESP32_GENERIC_S3)',
    "i2c": 'add "i2c": {"id": 0, "sda": N, "scl": N} to the pins of its board.json',
    "adc": 'list ADC-capable GPIOs under "adc" in the pins of its board.json',
    "button": 'add "button": {"pin": N, "pull": "up", "active_low": true} to the pins of its board.json',
}
_HINTS["wifi"] = _HINTS["network"]


class BoardError(Exception):
    pass


def _root():
    """Where boards/ is: $RILL_ROOT (hosts that run compiled copies), else the checkout
    that holds this lib/, else / (a device)."""
    getenv = getattr(os, "getenv", None)  # the unix port and CPython have it; boards do not
    root = getenv("RILL_ROOT") if getenv else None
    if root:
        return root
    p = __file__.replace("\\", "/")
    i = p.rfind("/lib/rill/")
    if i >= 0:
        return p[:i]
    return "." if p.startswith("lib/") else ""


def board_file(board_id):
    return "%s/boards/%s/board.json" % (_root(), board_id)


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise BoardError("no board file %s (boards here: %s)" % (path, ", ".join(available()) or "none"))
    except ValueError as e:
        raise BoardError("board file %s is not valid JSON: %s" % (path, e))


def available():
    """Board ids that have a board file here."""
    found = []
    try:
        names = os.listdir(_root() + "/boards")
    except OSError:
        return found
    for name in sorted(names):
        try:
            os.stat(board_file(name))
            found.append(name)
        except OSError:
            pass
    return found


def detect():
    """The id of the board this MicroPython runs on: the board file whose ``machine`` is
    ``sys.implementation._machine``, else the only board file deployed."""
    machine = getattr(sys.implementation, "_machine", "")
    ids = available()
    for board_id in ids:
        if _read(board_file(board_id)).get("machine") == machine:
            return board_id
    if len(ids) == 1:
        return ids[0]
    raise BoardError("no board file matches this machine (%r); pass an id to load(): %s"
                     % (machine, ", ".join(available()) or "no boards/ folder found"))


def load(board_id=None, sim=None, path=None, clock=None):
    """The Board for ``board_id`` (default: detected). ``sim=None`` picks real hardware
    when running on the board's own port and simulated hardware otherwise. Simulated
    devices keep time by ``clock``: give the VirtualClock the pipeline starts with
    (``b.sim.follow(clock)`` changes it later); default real time."""
    if path is None:
        path = board_file(board_id or detect())
    info = _read(path)
    facts = _MCU.get(info.get("mcu"))
    if facts is None:
        raise BoardError("board %s: unknown mcu %r (known: %s)"
                         % (info.get("id"), info.get("mcu"), ", ".join(sorted(_MCU))))
    here = sys.platform
    if sim is None:
        sim = here != facts[0]
    elif not sim and here != facts[0]:
        raise BoardError("board %s needs MicroPython on %s for real hardware; this is %s: use sim=True"
                         % (info["id"], facts[0], here))
    return Board(info, facts, sim, clock)


class Board:
    def __init__(self, info, facts, sim, clock=None):
        self.info = info
        self.name = info["id"]
        self.title = info.get("name", self.name)
        self.mcu = info["mcu"]
        self.pins = info.get("pins", {})
        self.network = info.get("network", "none")
        self.heap_budget = info.get("heap_budget_kb", 0) * 1024
        self.platform, self.hard_irq, self._temp = facts
        self._i2c = None
        self.sim = None
        if sim:
            from .sim.hardware import SimHardware

            i2c = self.pins.get("i2c") or {}
            self.sim = SimHardware(self.platform, i2c.get("id", 0), self._temp == "mcu_temperature", clock)

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
            msg = "board %s (%s) has no %s" % (self.name, self.title, capability)
            if why:
                msg += ": %s needs it" % why
            hint = _HINTS.get(capability)
            raise BoardError(msg + ("; " + hint if hint else ""))

    # -- hardware ------------------------------------------------------------------

    def _machine(self):
        if self.sim is not None:
            return self.sim.machine
        import machine

        return machine

    def pin(self, id, mode=None, pull=None):
        """A machine.Pin (an input unless ``mode`` says otherwise)."""
        m = self._machine()
        mode = m.Pin.IN if mode is None else mode
        if self.sim is not None:
            return self.sim.pin(id, mode, -1 if pull is None else pull)
        return m.Pin(id, mode, pull)

    def i2c(self):
        """The board's I2C bus (one shared object)."""
        if self._i2c is None:
            self.require("i2c", "i2c()")
            cfg = self.pins["i2c"]
            if self.sim is not None:
                self._i2c = self.sim.i2c
            else:
                import machine

                self._i2c = machine.I2C(cfg.get("id", 0), sda=machine.Pin(cfg["sda"]), scl=machine.Pin(cfg["scl"]),
                                        freq=cfg.get("freq", 400000))
        return self._i2c

    def _adc(self, id):
        if self.sim is not None:
            return self.sim.adc(id)
        import machine

        if self.platform == "esp32":  # 11 dB: the full 0..3.3 V range (read_uv() applies the calibration)
            return machine.ADC(machine.Pin(id), atten=machine.ADC.ATTN_11DB)
        return machine.ADC(id)

    def adc(self, gpio):
        """A machine.ADC on ``gpio``, which must be one of the board's ADC inputs."""
        inputs = self.pins.get("adc") or []
        if gpio not in inputs:
            raise BoardError("GPIO %s is not an ADC input on %s; its ADC inputs are %s"
                             % (gpio, self.name, ", ".join(str(g) for g in inputs) or "none"))
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
            raise BoardError("the LED of %s is a %s on pin %s, not a plain output: drive it with its own driver"
                             % (self.name, cfg["type"], cfg["pin"]))
        return self.pin(cfg["pin"], self._machine().Pin.OUT)

    def mcu_temp(self):
        """A driver for the chip's own temperature sensor, in °C."""
        from .drivers import mcu_temp

        if self._temp == "adc":
            return mcu_temp.RP2040Temp(self._adc(4))
        if self.sim is not None:
            return mcu_temp.ESP32Temp(self.sim.esp32)
        import esp32

        return mcu_temp.ESP32Temp(esp32)

    def wifi(self, ssid, password, **kw):
        """A ``WiFi`` connection keeper; on a board without Wi-Fi, or simulated, it says so in its status."""
        from .wifi import WiFi

        if not self.has("network"):
            return WiFi(None, ssid, password, unavailable="board %s has no networking" % self.name, **kw)
        if self.sim is not None:
            return WiFi(None, ssid, password, unavailable="no wifi hardware (simulated %s)" % self.name, **kw)
        import network

        return WiFi(network.WLAN(network.STA_IF), ssid, password, **kw)
