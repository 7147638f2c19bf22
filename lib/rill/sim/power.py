"""Simulated power states (rill.sim.machine loads it at first use): ``RTC`` with its
user memory, ``deepsleep``, ``lightsleep``, ``reset_cause`` and the reset causes.

Deep sleep on a board powers the CPU down: RAM is lost, the RTC domain keeps its user
memory (2 KB on the ESP32 port), and the board boots again (boot.py, main.py) with
``reset_cause() == DEEPSLEEP_RESET``. Here the RTC domain is a file, $VBOARD_RTC (the
virtual board sets it; without it the RTC lives only as long as the process): what
``RTC().memory()`` holds, the reset cause the next start will see and the virtual time
slept so far. ``deepsleep(ms)`` writes it and ends the program (``SystemExit(0)``, with
``sleeping`` set;
the virtual board, or a test's loop, starts it again). The clock advances by the sleep:
``slept_ms()`` is the total, ``RTC().datetime()`` counts it. Heap: loaded only by a
program that touches these names.
"""
import os
import struct
import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
MEMORY_MAX = 2048  # the ESP32 port's RTC user memory (MICROPY_HW_RTC_USER_MEM_MAX)

sleeping = False  # deepsleep() ended the program (the virtual board then wakes it)
_state = None  # [cause, slept_ms, memory bytes], read from $VBOARD_RTC once


def _path():
    return os.getenv("VBOARD_RTC")


def _load():
    global _state
    if _state is None:
        _state = [PWRON_RESET, 0, b""]
        p = _path()
        if p:
            try:
                with open(p, "rb") as f:
                    data = f.read()
                cause, slept, n = struct.unpack(">BQH", data[:11])
                _state = [cause, slept, data[11:11 + n]]
            except (OSError, ValueError):
                pass
            _save(PWRON_RESET)  # a start that does not end in deepsleep() is a power-on to the next
    return _state


def _save(cause):
    p = _path()
    if p:
        s = _state
        with open(p, "wb") as f:
            f.write(struct.pack(">BQH", cause, s[1], len(s[2])) + s[2])


class RTC:
    def memory(self, data=None):
        """The RTC user memory: bytes kept over deep sleep (at most MEMORY_MAX)."""
        s = _load()
        if data is None:
            return s[2]
        if len(data) > MEMORY_MAX:
            raise ValueError("buffer too long")
        s[2] = bytes(data)
        _save(PWRON_RESET)
        return None

    def datetime(self):
        """(year, month, day, weekday, hours, minutes, seconds, subseconds): host time plus the time slept."""
        t = time.gmtime(time.time() + _load()[1] // 1000)
        return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)


def reset_cause():
    return _load()[0]


def slept_ms():
    """Virtual milliseconds spent in deep sleep since the RTC domain was powered."""
    return _load()[1]


def deepsleep(ms=0):
    """Keep the RTC domain, advance its clock by ``ms`` and end the process: the next start is a wake."""
    s = _load()
    global sleeping
    s[1] += ms
    _save(DEEPSLEEP_RESET)
    sleeping = True
    raise SystemExit(0)


def lightsleep(ms=0):
    time.sleep_ms(ms)
