"""The board's clock from SNTP, before the first TLS connect (certificate dates need it).

    ts = TimeSync(machine, "pool.ntp.org")
    p.record("clock", TimeSync.SHAPE)
    p.source("clock", task=ts.run)        # {"state": "set" | "unset", "reason": str, "attempt": int}

``run`` asks the server (one UDP request, bounded by ``timeout_ms``), sets
``machine.RTC().datetime()`` and says so; a failure is said in the status with the
reason and retried with the shared backoff (rill.backoff); once set, it syncs again every
``every_ms``. ``is_set()`` is what rill.mqtt.tls asks before a verified TLS connect: a
board whose clock reads before 2024 has not been set (an ESP32 starts at 2000, an RP2040
at 2021), and the bridge waits (state "backoff", the reason in ``error``) rather than
connect unverified. The SNTP client is ntptime's exchange with a port of choice.

Heap: nothing unless imported (tls.py imports ``is_set`` at a TLS connect only); the
task holds one 48-byte buffer.
"""
import asyncio
import struct
import time

from .backoff import Backoff

VALID_FROM = 2024  # a clock before this year has not been set
_NTP_1970 = 2208988800  # 1900-01-01 to 1970-01-01, in seconds


def _machine():
    """The port's machine when it has an RTC; else, under a virtual board, the simulated
    one; else None (the host: its clock is set)."""
    try:
        import machine

        if hasattr(machine, "RTC"):
            return machine
    except ImportError:
        pass
    import os

    if getattr(os, "getenv", None) and os.getenv("VBOARD_RTC"):
        from .sim import machine

        return machine
    return None


def is_set(machine=None):
    """Does the board's clock tell the date (year >= VALID_FROM)?"""
    m = machine or _machine()
    year = m.RTC().datetime()[0] if m is not None else time.gmtime()[0]
    return year >= VALID_FROM


def unix_time(packet):
    """Seconds since 1970 from an SNTP reply (its transmit timestamp)."""
    return struct.unpack(">I", packet[40:44])[0] - _NTP_1970


class TimeSync:
    SHAPE = {"state": str, "reason": str, "attempt": int}

    def __init__(self, machine, host="pool.ntp.org", port=123, timeout_ms=2000, every_ms=3600000,
                 backoff_ms=1000, backoff_max_ms=60000):
        self.machine = machine
        self.host = host
        self.port = port
        self.timeout_ms = timeout_ms
        self.every_ms = every_ms
        self.backoff = Backoff(backoff_ms, backoff_max_ms)
        self.buf = bytearray(48)
        self.syncs = self.failures = 0
        self.status = None

    async def query(self):
        """Seconds since 1970 from the server; OSError on no answer within ``timeout_ms``."""
        import select
        import socket

        addr = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_DGRAM)[0][-1]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            b = self.buf
            b[:] = bytes(48)
            b[0] = 0x1B  # LI 0, version 3, mode 3 (client)
            s.sendto(b, addr)
            p = select.poll()
            p.register(s, select.POLLIN)
            t0 = time.ticks_ms()
            while not p.poll(0):
                if time.ticks_diff(time.ticks_ms(), t0) >= self.timeout_ms:
                    raise OSError("no SNTP answer from %s:%d in %d ms" % (self.host, self.port, self.timeout_ms))
                await asyncio.sleep_ms(20)
            data = s.recv(48)
        finally:
            s.close()
        if len(data) < 48 or data[0] & 7 != 4:
            raise OSError("not an SNTP reply")
        return unix_time(data)

    def set_clock(self, secs):
        if time.gmtime(0)[0] == 2000:  # a port counting from 2000
            secs -= 946684800
        t = time.gmtime(secs)
        self.machine.RTC().datetime((t[0], t[1], t[2], t[6] + 1, t[3], t[4], t[5], 0))

    async def run(self, emit):
        attempt = 0
        while True:
            attempt += 1
            try:
                self.set_clock(await self.query())
            except (OSError, ValueError, IndexError) as e:
                self.failures += 1
                delay = self.backoff.next()
                self.status = {"state": "set" if is_set(self.machine) else "unset", "attempt": attempt,
                               "reason": "%s; retry in %d ms" % (e, delay)}
                emit(self.status)
                await asyncio.sleep_ms(delay)
                continue
            self.syncs += 1
            self.backoff.reset()
            self.status = {"state": "set", "attempt": attempt, "reason": ""}
            emit(self.status)
            attempt = 0
            await asyncio.sleep_ms(self.every_ms)
