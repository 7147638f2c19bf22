"""Keep a Wi-Fi station connected without holding up the pipelines.

``run(emit)`` is a task source: each connection attempt is bounded by ``timeout_ms``
(polled with ``asyncio.sleep_ms``, so other tasks keep running), failures back off
exponentially from ``backoff_ms`` to ``backoff_max_ms``, a dropped link is noticed
within ``check_ms``, and every change of state is emitted as a status record:

    {"state": "connecting" | "up" | "down" | "unavailable", "ip": str, "attempt": int, "reason": str}

Where there is no Wi-Fi (a board without it, or the host) the one status is
"unavailable" with the reason, and the task then idles. A join the radio refuses
(wrong password, no such network: ``status()`` below 0, or 200-299 on the ESP32) ends
the attempt at once, with the status in the reason.

First configuration: with no ``ssid`` and an access point (``ap``, a WLAN(AP_IF), and
``portal``, its settings) the task first serves rill.portal's page on the access point
(state "portal", the page's address in ``reason``), loaded only then; the page's
credentials are joined, saved to config.json, and kept as below.

    w = board.wifi("ssid", "secret")
    p.record("wifi", WiFi.SHAPE)
    p.source("wifi", task=w.run)
"""
import asyncio
import time

from .backoff import Backoff


def _ip(wlan):
    try:
        return wlan.ifconfig()[0]
    except (AttributeError, OSError):
        return ""


_REFUSED = {-3: "wrong password", -2: "no network of that name", 2: "wrong password",
            1: "no network of that name"}  # CYW43; the ESP32's 202, 201


class WiFi:
    SHAPE = {"state": str, "ip": str, "attempt": int, "reason": str}

    def __init__(self, wlan, ssid, password, timeout_ms=15000, backoff_ms=1000, backoff_max_ms=60000,
                 poll_ms=100, check_ms=5000, unavailable="no wifi hardware", ap=None, portal=None):
        self.wlan = wlan
        self.ap = ap  # the access point for first configuration (no ssid), with ``portal`` its settings
        self.portal = portal
        self.ssid = ssid
        self._password = password
        self.timeout_ms = timeout_ms
        self.backoff = Backoff(backoff_ms, backoff_max_ms, jitter=False)
        self.poll_ms = poll_ms
        self.check_ms = check_ms
        self.unavailable = unavailable
        self.attempts = 0  # connection attempts since start
        self.failures = 0  # attempts that failed
        self.status = None  # the last status emitted

    def _emit(self, emit, state, attempt=0, reason="", ip=""):
        self.status = {"state": state, "ip": ip, "attempt": attempt, "reason": reason}
        emit(self.status)

    def connected(self):
        return self.wlan is not None and self.wlan.isconnected()

    async def _attempt(self):
        """One bounded connection attempt; returns None on success, else the reason."""
        wlan = self.wlan
        try:
            wlan.active(True)
            wlan.connect(self.ssid, self._password)
        except OSError as e:
            return "connect() failed: %s" % e
        start = time.ticks_ms()
        status = getattr(wlan, "status", None)
        while not wlan.isconnected():
            st = status() if status else 0
            if st < 0 or 200 <= st < 300:  # refused: CYW43's negatives, the ESP32's 2xx
                return "%s (status %d)" % (_REFUSED.get(st % 100 if st > 0 else st, "the join failed"), st)
            if time.ticks_diff(time.ticks_ms(), start) >= self.timeout_ms:
                try:
                    wlan.disconnect()
                except OSError:
                    pass
                return "no connection after %d ms (status %s)" % (self.timeout_ms, status() if status else "?")
            await asyncio.sleep_ms(self.poll_ms)
        return None

    async def join(self, ssid, password):
        """One attempt with these credentials (the portal's); None if joined, else the reason."""
        self.ssid, self._password = ssid, password
        self.attempts += 1
        reason = await self._attempt()
        if reason is not None:
            self.failures += 1
            self.ssid = ""
        return reason

    async def run(self, emit):
        if self.wlan is None or not (self.ssid or self.ap):
            self._emit(emit, "unavailable", reason=self.unavailable if self.wlan is None else "no Wi-Fi credentials")
            while True:
                await asyncio.sleep_ms(3600000)
        if not self.ssid:
            from .portal import Portal  # first configuration only

            await Portal(self, self.ap, **(self.portal or {})).serve(emit)
        attempt = 0
        while True:
            if self.wlan.isconnected():
                if self.status is None or self.status["state"] != "up":
                    self._emit(emit, "up", attempt, ip=_ip(self.wlan))
                    attempt = 0
                    self.backoff.reset()
                await asyncio.sleep_ms(self.check_ms)
                if not self.wlan.isconnected():
                    self._emit(emit, "down", attempt, "link lost")
                continue
            attempt += 1
            self.attempts += 1
            self._emit(emit, "connecting", attempt)
            reason = await self._attempt()
            if reason is None:
                continue
            self.failures += 1
            delay = self.backoff.next()
            self._emit(emit, "down", attempt, "%s; retry in %d ms" % (reason, delay))
            await asyncio.sleep_ms(delay)
