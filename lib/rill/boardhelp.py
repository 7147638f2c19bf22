"""The cold half of rill.board: what runs once, on the host, or only on bad input.

``available()`` and ``detect()`` (``rill.board`` hands them out as its own), the texts
of BoardErrors, and ``complete(info)``: a board file as the repository keeps it made
into what a device reads (the MCU's facts written in, host-only fields left out).
``rill deploy`` stages board files completed on the host (tools/rill_host/deploy/plan.py), so a
device loads this module only to detect its board or to say what is wrong. It reads
rill.board's names through ``_board()``: rill.board loads this module, never the other
way round, so the two form no import cycle.
"""
import os
import sys


def _board():
    """rill.board (loaded: it is what loads this module)."""
    return sys.modules.get("rill.board") or __import__("rill.board", None, None, ("load",))

# MCU -> (sys.platform of its port, pin IRQs may be hard, how the chip reads its own
# temperature): boards/mcus.json's platform, pin_irq_hard and temp_sensor.kind, which
# test_boards.py keeps in step with this table.
_MCU = {
    "RP2040": ("rp2", True, "adc"),
    "ESP32": ("esp32", False, "esp32.raw_temperature"),
    "ESP32-S3": ("esp32", False, "esp32.mcu_temperature"),
}

# What a device reads of a board file (rill.board.Board), beside its MCU's facts.
DEVICE_FIELDS = ("id", "name", "machine", "mcu", "pins", "network", "heap_budget_kb")

_HINTS = {
    "network": 'use a board whose board.json says "network": "wifi" (RPI_PICO_W, ESP32_GENERIC, ESP32_GENERIC_S3)',
    "i2c": 'add "i2c": {"id": 0, "sda": N, "scl": N} to the pins of its board.json',
    "adc": 'list ADC-capable GPIOs under "adc" in the pins of its board.json',
    "button": 'add "button": {"pin": N, "pull": "up", "active_low": true} to the pins of its board.json',
}
_HINTS["wifi"] = _HINTS["network"]


def complete(info):
    """The board file ``info`` as a device reads it: DEVICE_FIELDS and its MCU's facts
    (platform, pin_irq_hard, temp_sensor). BoardError if the MCU is unknown."""
    facts = _MCU.get(info.get("mcu"))
    if facts is None:
        raise _board().BoardError("board %s: unknown mcu %r (known: %s)"
                         % (info.get("id"), info.get("mcu"), ", ".join(sorted(_MCU))))
    out = {k: info[k] for k in DEVICE_FIELDS if k in info}
    out["platform"], out["pin_irq_hard"], out["temp_sensor"] = facts
    return out


def available():
    """Board ids that have a board file here."""
    found = []
    try:
        names = os.listdir(_board()._ROOT + "/boards")
    except OSError:
        return found
    for name in sorted(names):
        try:
            os.stat(_board().board_file(name))
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
        if _board()._read(_board().board_file(board_id)).get("machine") == machine:
            return board_id
    if len(ids) == 1:
        return ids[0]
    raise _board().BoardError("no board file matches this machine (%r); pass an id to load(): %s"
                     % (machine, ", ".join(ids) or "no boards/ folder found"))


# -- the texts of rill.board's BoardErrors (rill.board._error) ---------------------


def unreadable(path, e):
    if isinstance(e, OSError):
        return "no board file %s (boards here: %s)" % (path, ", ".join(available()) or "none")
    return "board file %s is not valid JSON: %s" % (path, e)


def not_here(board_id, platform, here):
    return "board %s needs MicroPython on %s for real hardware; this is %s: use sim=True" % (board_id, platform, here)


def missing(board, capability, why):
    msg = "board %s (%s) has no %s" % (board.name, board.title, capability)
    if why:
        msg += ": %s needs it" % why
    hint = _HINTS.get(capability)
    return msg + ("; " + hint if hint else "")


def not_adc(board, gpio):
    inputs = board.pins.get("adc") or []
    return ("GPIO %s is not an ADC input on %s; its ADC inputs are %s"
            % (gpio, board.name, ", ".join(str(g) for g in inputs) or "none"))


def not_plain_led(board, cfg):
    return ("the LED of %s is a %s on pin %s, not a plain output: drive it with its own driver"
            % (board.name, cfg["type"], cfg["pin"]))
