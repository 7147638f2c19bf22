"""A simulated ``network`` module for the virtual board: ``WLAN(STA_IF)`` joins the
networks "in the air", ``WLAN(AP_IF)`` is the board's own access point.

The air is $VBOARD_WIFI, a JSON object ``{"ssid": "key", ...}`` (``rill vboard --wifi
SSID=KEY`` sets it; a test in-process sets ``AIR``): the networks a station can reach, each with its key. A station's
``connect(ssid, key)`` takes ``JOIN_MS`` (real time, as a join takes a moment), then
``isconnected()`` is true and ``status()`` is ``STAT_GOT_IP``, or the join fails with
``STAT_NO_AP_FOUND`` / ``STAT_WRONG_PASSWORD``; the status codes are the RP2040 port's
(CYW43). Both interfaces' address is the host's loopback, where the virtual board's
sockets are: the access point's page is served there. Without $VBOARD_WIFI there is no
Wi-Fi model (rill.sim.hardware then says "no wifi hardware").

Heap: loaded only by a simulated board whose app starts Wi-Fi.
"""
import os
import time

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 3
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3
JOIN_MS = 200
AIR = None  # {ssid: key}: set by a test in-process, instead of $VBOARD_WIFI
ADDRESS = ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")


def air():
    """The reachable networks, {ssid: key}, from $VBOARD_WIFI (None: no Wi-Fi model)."""
    if AIR is not None:
        return AIR
    text = os.getenv("VBOARD_WIFI")
    if not text:
        return None
    import json

    nets = json.loads(text)
    if not isinstance(nets, dict):
        raise ValueError("$VBOARD_WIFI is not a JSON object of ssid: key")
    return nets


class WLAN:
    def __init__(self, interface=STA_IF):
        if interface not in (STA_IF, AP_IF):
            raise ValueError("interface must be STA_IF or AP_IF")
        self.interface = interface
        self._active = False
        self._ssid = "rill-setup" if interface == AP_IF else ""
        self._key = ""
        self._status = STAT_IDLE
        self._since = 0
        self.joins = 0  # connect() calls

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not on:
            self._status = STAT_IDLE
        return None

    def config(self, *names, **kw):
        """``config(ssid=..., key=...)`` sets (an AP's name and key); ``config("ssid")`` reads."""
        for k, v in kw.items():
            if k == "ssid":
                self._ssid = v
            elif k in ("key", "password"):
                self._key = v
            elif k not in ("security", "channel", "hostname"):
                raise ValueError("unknown config param " + k)
        if names:
            return {"ssid": self._ssid, "essid": self._ssid}[names[0]]
        return None

    def connect(self, ssid=None, key=None):
        if self.interface != STA_IF:
            raise OSError(1)  # EPERM: an AP does not join
        if not self._active:
            raise OSError("STA must be active")
        self._ssid, self._key = ssid, key or ""
        self._status = STAT_CONNECTING
        self._since = time.ticks_ms()
        self.joins += 1

    def disconnect(self):
        self._status = STAT_IDLE

    def status(self, param=None):
        if self._status == STAT_CONNECTING and time.ticks_diff(time.ticks_ms(), self._since) >= JOIN_MS:
            nets = air() or {}
            if self._ssid not in nets:
                self._status = STAT_NO_AP_FOUND
            elif nets[self._ssid] != self._key:
                self._status = STAT_WRONG_PASSWORD
            else:
                self._status = STAT_GOT_IP
        return self._status

    def isconnected(self):
        if self.interface == AP_IF:
            return self._active
        return self._active and self.status() == STAT_GOT_IP

    def ifconfig(self, *args):
        return ADDRESS if self.isconnected() else ("0.0.0.0",) * 4

    def scan(self):
        """(ssid, bssid, channel, RSSI, security, hidden) of each network in the air."""
        return [(s.encode(), b"\x02\x00\x00\x00\x00" + bytes([i]), 6, -50, 3 if k else 0, 0)
                for i, (s, k) in enumerate(sorted((air() or {}).items()))]
