"""The OTA receiver: a bridge addon (setup.py attaches it) that takes an update over
MQTT into the slot that is not running, checks it, and switches to it.

Messages on ``<base>ota/in`` (``<base>``: the status topic's folder, e.g.
``rill/<device>/``), raw bytes, from ``rill ota`` (tools/rill_host/deploy/ota.py):

    B<sig hex> <id> <manifest bytes>   begin: the stream starts with a manifest of that
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
``reason`` (one sentence), ``healthy``, ``slot``, ``safe_mode`` and ``last`` (what
happened at boot: a rollback). A wrong signature, a wrong hash, a cut-off update or
a bad message is refused with its reason; the running build never stops for it.

Healthy: online (the birth sent) and GOOD_S seconds up: the boot count is cleared
and a build on trial is committed. Heap: the module (about 3 KB as .mpy), plus a
manifest's file list while an update arrives.
"""
import asyncio
import hashlib
import os
import time
from binascii import hexlify, unhexlify

from . import BOOTS, KEY, LAST, conf, read, set_slot, slot, write
from . import path as slot_path
from .sign import Hmac, equal

CHUNK = 1024  # data bytes per message at most (the receive buffer fits one)
MAX_MANIFEST = 16384
EVERY = 8 * CHUNK  # progress status this often


def _clear(d):
    """Remove the folder ``d`` and everything in it (a slot's old build)."""
    try:
        names = [(e[0], e[1]) for e in os.ilistdir(d)]
    except OSError:
        return
    for name, kind in names:
        p = d + "/" + name
        if kind == 0x4000:
            _clear(p)
        else:
            os.remove(p)
    os.rmdir(d)


def _makedirs(d):
    p = ""
    for part in d.split("/"):
        if not part:
            continue
        p += "/" + part
        try:
            os.mkdir(p)
        except OSError:
            pass


def _bad_path(p):
    return not isinstance(p, str) or not p or p[0] == "/" or ".." in p.split("/") or p.startswith(".ota")


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
        self.healthy = False
        self._t0 = time.ticks_ms()
        self.good_ms = conf()[2] * 1000
        self._waiting = None
        self.active = slot()[0]
        self.last = read(LAST) or None

    # -- the addon interface (rill.mqtt.bridge) -------------------------------------------

    def attach(self, p):
        p.record(self.key, bytes)
        p.tap(self.key, self.take, name="ota")

    def online(self):
        self.status()
        if not self.healthy and not self.safe and self._waiting is None:
            self._waiting = asyncio.create_task(self._health())

    # -- messages -----------------------------------------------------------------------

    def take(self, m):
        op = m[0] if m else 0
        try:
            if op == 0x44:  # D
                self.data(m)
            elif op == 0x42:  # B
                self.begin(m)
            elif op == 0x45:  # E
                self.end()
            elif op == 0x51:  # Q
                self.status()
            else:
                self.refuse("unknown OTA message %r" % bytes(m[:1]), False)
        except OSError as e:  # the flash: full, or failing
            self.refuse("flash error %s while writing the update" % e)

    def begin(self, m):
        try:
            sig, uid, mlen = bytes(m[1:]).split(b" ")
            sig, mlen = unhexlify(sig), int(mlen)
        except ValueError:
            return self.refuse("malformed begin message", False)
        uid = uid.decode()
        if self.state == "receiving" and uid == self.id:
            return self.status()  # the sender starts over after a reconnect: go on where we are
        if len(sig) != 32 or not 2 <= mlen <= MAX_MANIFEST:
            return self.refuse("begin: a signature of %d bytes, a manifest of %d (at most %d)"
                               % (len(sig), mlen, MAX_MANIFEST))
        self._close()
        self.target = "b" if self.active == "a" else "a"
        d = slot_path(self.target)
        _clear(d)
        _makedirs(d)
        self.mac = Hmac(unhexlify(read(KEY)))
        self.sig, self.id, self.mlen, self.total, self.at = sig, uid, mlen, mlen, 0
        self.files, self.reason, self.state = None, None, "receiving"
        self._f = open(d + "/.manifest", "wb")
        print("ota: update %s into slot %s" % (uid, self.target))
        self.status()

    def data(self, m):
        if self.state != "receiving" or len(m) < 5:
            return
        off = m[1] << 24 | m[2] << 16 | m[3] << 8 | m[4]
        if off != self.at:
            if off > self.at:
                self.status()  # a gap: say where to go on (an earlier offset is a resend)
            return
        mv = memoryview(m)[5:]
        while len(mv):
            if self.files is None:
                n = min(len(mv), self.mlen - self.at)
                self._f.write(mv[:n])
                self.mac.update(mv[:n])
                self.at += n
                mv = mv[n:]
                if self.at == self.mlen and not self.manifest():
                    return
            else:
                if self.i >= len(self.files):
                    return self.refuse("more data than the manifest lists")
                n = min(len(mv), self.left)
                self._f.write(mv[:n])
                self._h.update(mv[:n])
                self.left -= n
                self.at += n
                mv = mv[n:]
                if not self.left and not self.next_file():
                    return
        if self.at % EVERY < CHUNK or self.at == self.total:
            self.status()

    def manifest(self):
        self._close()
        if not equal(self.mac.digest(), self.sig):
            return self.refuse("the manifest's signature does not match (tampered with, or signed with another key)")
        import json

        try:
            with open(slot_path(self.target) + "/.manifest") as f:
                files = json.load(f)["files"]
            total = self.mlen
            for name, size, sha in files:
                if _bad_path(name) or type(size) is not int or size < 0 or len(sha) != 64:
                    raise ValueError("bad entry for %r" % name)
                total += size
        except (ValueError, KeyError, TypeError) as e:
            return self.refuse("the manifest is unreadable: %s" % e)
        self.files, self.total, self.i = files, total, -1
        return self.next_file()

    def next_file(self):
        """Check the file just written (if any) and open the next; False when refused."""
        d = slot_path(self.target)
        while True:
            if self._f is not None:
                self._close()
                name, _, sha = self.files[self.i]
                if hexlify(self._h.digest()).decode() != sha:
                    return self.refuse("%s: its sha256 does not match the manifest's" % name)
            self.i += 1
            if self.i >= len(self.files):
                return True
            name, size, _ = self.files[self.i]
            _makedirs((d + "/" + name).rpartition("/")[0])
            self._f = open(d + "/" + name, "wb")
            self._h = hashlib.sha256()
            self.left = size
            if size:
                return True

    def end(self):
        if self.state != "receiving":
            return self.status()
        if self.files is None or self.at < self.total:
            what = "in the manifest" if self.files is None else "in %s (%d of %d bytes)" % (
                self.files[self.i][0], self.files[self.i][1] - self.left, self.files[self.i][1])
            return self.refuse("the update was cut off %s: %d of %d bytes came" % (what, self.at, self.total))
        write(BOOTS, "0")
        set_slot(self.target, self.active, conf()[1])  # the switch: this file, written last
        self.state = "switching"
        print("ota: update %s complete: restarting into slot %s" % (self.id, self.target))
        self.status()
        asyncio.create_task(self._restart())

    def refuse(self, reason, abort=True):
        """Refuse the update (or, ``abort=False``, one message) with a reason: counted,
        printed, on the status topic. The running build goes on."""
        self.refused += 1
        self.reason = reason
        print("ota: refused: " + reason)
        if abort and self.state == "receiving":
            self._close()
            self.state = "refused"
            self.files = None
            try:
                _clear(slot_path(self.target))
            except OSError:
                pass
        self.status()
        return False

    def status(self):
        import json

        d = {"state": self.state, "id": self.id, "at": self.at, "total": self.total, "refused": self.refused,
             "healthy": self.healthy, "slot": self.active, "safe_mode": self.safe}
        if self.reason:
            d["reason"] = self.reason
        if self.last:
            d["last"] = self.last
        self.bridge.put(self.topic, json.dumps(d).encode(), 1, True)

    def _close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

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
        self.status()

    async def _restart(self):
        await asyncio.sleep_ms(500)  # the status goes out first
        from .boot import reset

        reset()
