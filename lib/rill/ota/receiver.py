"""The OTA receiver: a bridge addon (setup.py attaches it) that takes an update over
MQTT into the slot that is not running, checks it, and switches to it.

Messages on ``<base>ota/in`` (``<base>``: the status topic's folder, e.g.
``rill/<device>/``), raw bytes, from ``rill ota`` (tools/rill_host/deploy/ota.py); the
receiver is the link's codec, so each is taken in ``decode``, from the session's
receive buffer, before the next is read:

    B<sig hex> <id> <manifest size>    begin: the stream starts with a manifest of that
                                       size, signed (HMAC-SHA256, sign.py) with the key
    D<offset: 4 bytes, big-endian><data>   the stream's bytes at that offset: first
                                       the manifest, then each file it lists, in order
    E                                  end: check that everything came, then switch
    Q                                  say where the update is

The manifest, JSON: ``{"id": ..., "build": {...}, "files": [[path, size, sha256], ...]}``
(paths relative to the slot). Data goes straight to flash, hashed on the way; a chunk
at another offset than the next one is ignored (a resend after a reconnect, or a
gap: the status says where to go on), so the sender resumes after a dropped
connection. The status, retained on ``<base>ota/status``, JSON: ``state`` (idle,
receiving, refused, switching), ``at``/``total`` bytes, ``refused`` (a count),
``reason`` (one sentence), ``healthy``, ``slot``, ``safe_mode``, ``last`` (what
happened at boot: a rollback) and ``gap`` (chunks after ``at`` were lost: resend from
there). A wrong signature, a wrong hash, a cut-off update or a bad message is refused
with its reason; the running build never stops for it.

Healthy: online (the birth sent) and GOOD_S seconds up: the boot count is cleared
and a build on trial is committed. Heap: this module while idle; the transfer code
(transfer.py, sign.py) and a manifest's file list only while an update arrives
(``make bench``: ota_import_bytes_32bit).
"""
import asyncio
import time

from . import BOOTS, LAST, conf, read, set_slot, slot, write

CHUNK = 1024  # data bytes per message at most (the receive buffer fits one)


class Receiver:
    def __init__(self, bridge, base, safe=False):
        self.bridge = bridge
        self.topic = (base + "ota/status").encode()
        self.key = "ota"
        self.safe = safe
        self.refused = 0
        self.reason = None
        self.state = "idle"
        self.id = None
        self.at = self.total = self.mlen = 0
        self.files = self._f = self._h = self.target = self.mac = self.sig = None
        self.i = self.left = 0
        self.gap = None  # the offset a gap was last reported at (once per offset)
        self.healthy = False
        self.taken = 0
        self._t0 = time.ticks_ms()
        self.good_ms = conf()[2] * 1000
        self._waiting = None
        self.active = slot()[0]
        self.last = read(LAST) or None

    # -- the addon interface (rill.mqtt.bridge) -------------------------------------------

    def attach(self, p):
        p.record(self.key, int)  # the state's count of messages taken (the work is done in decode)

    # -- the codec interface (rill.mqtt.codecs): the link's codec is the receiver -----------

    name = "ota"

    def decode(self, payload):
        """Take the message now, from the session's receive buffer (a memoryview): no copy,
        nothing queued, each chunk on flash before the next is read."""
        self.take(payload)
        self.taken += 1
        return self.taken

    def online(self):
        self.status()
        if not self.healthy and not self.safe and self._waiting is None:
            self._waiting = asyncio.create_task(self._health())

    # -- messages -----------------------------------------------------------------------

    def take(self, m):
        """An inbound message: Q answered here; B, D and E by transfer.py, loaded for them."""
        op = m[0] if m else 0
        if op == 0x51:  # Q
            return self.status()
        from . import transfer

        transfer.take(self, op, m)
        if self.state != "receiving":  # idle again: the transfer code leaves the heap
            import sys

            sys.modules.pop(transfer.__name__, None)
            sys.modules.pop("rill.ota.sign", None)

    def status(self):
        import json

        d = {"state": self.state, "id": self.id, "at": self.at, "total": self.total, "refused": self.refused,
             "healthy": self.healthy, "slot": self.active, "safe_mode": self.safe}
        if self.reason:
            d["reason"] = self.reason
        if self.gap == self.at and self.state == "receiving":
            d["gap"] = True  # chunks after ``at`` were lost: the sender goes back to ``at``
        if self.last:
            d["last"] = self.last
        self.bridge.put(self.topic, json.dumps(d).encode(), 1, True)

    async def _health(self):
        while True:
            left = self.good_ms - time.ticks_diff(time.ticks_ms(), self._t0)
            if left <= 0 and self.bridge.state == "online":
                break
            await asyncio.sleep_ms(max(50, min(left, 1000)))
        write(BOOTS, "0")
        active, previous, trial = slot()
        if trial:
            set_slot(active, previous, 0)
            print("ota: build in slot %s is healthy: kept" % active)
        self.healthy = True
        if self.last:  # said in this boot's statuses; not again at the next boot
            import os

            try:
                os.remove(LAST)
            except OSError:
                pass
        self.status()

    async def restart(self):
        for _ in range(60):  # the status goes out first: the outbox empty, or 3 s
            await asyncio.sleep_ms(50)
            if not self.bridge.outbox.pending():
                break
        from .boot import reset

        reset()
