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
asleep_ms = 0  # for how long (the virtual board's agent reads both)
_state = None  # [cause, slept_ms, memory bytes, clock offset s or -1: never set], from $VBOARD_RTC once


def _path():
    return os.getenv("VBOARD_RTC")


def _load():
    global _state
    if _state is None:
        _state = [PWRON_RESET, 0, b"", -1]
        p = _path()
        if p:
            try:
                with open(p, "rb") as f:
                    data = f.read()
                cause, slept, off, n = struct.unpack(">BQqH", data[:19])
                _state = [cause, slept, data[19:19 + n], off]
            except (OSError, ValueError):
                pass
            _save(PWRON_RESET)  # a start that does not end in deepsleep() is a power-on to the next
    return _state


def _save(cause):
    p = _path()
    if p:
        s = _state
        with open(p, "wb") as f:
            f.write(struct.pack(">BQqH", cause, s[1], s[3], len(s[2])) + s[2])


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

    def datetime(self, dt=None):
        """(year, month, day, weekday, hours, minutes, seconds, subseconds). Under a virtual
        board the clock starts unset, at 2000-01-01 plus the time since power-on (as a board's
        RTC), until set; without one it is the host's. Setting it (SNTP) keeps the offset."""
        s = _load()
        if dt is not None:
            s[3] = _secs(dt) - int(time.time())
            _save(PWRON_RESET)
            return None
        if s[3] >= 0 or not _path():
            secs = time.time() + max(0, s[3]) + s[1] // 1000
        else:
            secs = _Y2K + s[1] // 1000 + time.ticks_diff(time.ticks_ms(), _T0) // 1000
        t = time.gmtime(secs)
        return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)


_Y2K = 946684800  # 2000-01-01 in seconds since 1970 (the unix port's epoch)
_T0 = time.ticks_ms()


def _secs(dt):
    return int(time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0)))


def reset_cause():
    return _load()[0]


def slept_ms():
    """Virtual milliseconds spent in deep sleep since the RTC domain was powered."""
    return _load()[1]


def deepsleep(ms=0):
    """Keep the RTC domain, advance its clock by ``ms`` and end the process: the next start is a wake."""
    s = _load()
    global sleeping, asleep_ms
    s[1] += ms
    _save(DEEPSLEEP_RESET)
    sleeping, asleep_ms = True, ms
    raise SystemExit(0)


def lightsleep(ms=0):
    time.sleep_ms(ms)
