"""An update arriving (receiver.py has the protocol): the begin, data and end messages,
the manifest's signature, each file's sha256, the switch. Functions of the Receiver
``self``; loaded by its first B, D or E and unloaded when no update is under way.
Allocates a manifest's file list and one sha256 at a time; the data goes straight
from the message to flash."""
import asyncio
import hashlib
import os
from binascii import hexlify, unhexlify

from . import BOOTS, KEY, conf, read, set_slot, write
from . import path as slot_path
from .receiver import CHUNK
from .sign import Hmac, equal

MAX_MANIFEST = 16384
EVERY = 8 * CHUNK  # progress status this often: the sender's acknowledgement (it keeps 32 chunks ahead)


def take(self, op, m):
    try:
        if op == 0x44:  # D
            data(self, m)
        elif op == 0x42:  # B
            begin(self, m)
        elif op == 0x45:  # E
            end(self)
        else:
            refuse(self, "unknown OTA message %r" % bytes(m[:1]), False)
    except OSError as e:  # the flash: full, or failing
        refuse(self, "flash error %s while writing the update" % e)


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


def begin(self, m):
    try:
        sig, uid, mlen = bytes(m[1:]).split(b" ")
        sig, mlen = unhexlify(sig), int(mlen)
    except ValueError:
        return refuse(self, "malformed begin message", False)
    uid = uid.decode()
    if uid == self.id and self.state in ("receiving", "switching"):
        return self.status()  # the sender starts over after a reconnect: go on where we are
    if len(sig) != 32 or not 2 <= mlen <= MAX_MANIFEST:
        return refuse(self, "begin: a signature of %d bytes, a manifest of %d (at most %d)"
                           % (len(sig), mlen, MAX_MANIFEST))
    _close(self)
    self.target = "b" if self.active == "a" else "a"
    d = slot_path(self.target)
    _clear(d)
    _makedirs(d)
    self.mac = Hmac(unhexlify(read(KEY)))
    self.sig, self.id, self.mlen, self.total, self.at = sig, uid, mlen, mlen, 0
    self.files, self.reason, self.state, self.gap = None, None, "receiving", None
    self._f = open(d + "/.manifest", "wb")
    print("ota: update %s into slot %s" % (uid, self.target))
    self.status()


def data(self, m):
    if self.state != "receiving" or len(m) < 5:
        return
    off = m[1] << 24 | m[2] << 16 | m[3] << 8 | m[4]
    if off != self.at:
        if off > self.at and self.gap != self.at:  # a gap: say once where to go on (earlier: a resend)
            self.gap = self.at
            self.status()
        return
    mv = memoryview(m)[5:]
    while len(mv):
        if self.files is None:
            n = min(len(mv), self.mlen - self.at)
            self._f.write(mv[:n])
            self.mac.update(mv[:n])
            self.at += n
            mv = mv[n:]
            if self.at == self.mlen and not manifest(self):
                return
        else:
            if self.i >= len(self.files):
                return refuse(self, "more data than the manifest lists")
            n = min(len(mv), self.left)
            self._f.write(mv[:n])
            self._h.update(mv[:n])
            self.left -= n
            self.at += n
            mv = mv[n:]
            if not self.left and not next_file(self):
                return
    if self.at % EVERY < CHUNK or self.at == self.total:
        self.status()


def manifest(self):
    _close(self)
    if not equal(self.mac.digest(), self.sig):
        return refuse(self, "the manifest's signature does not match (tampered with, or signed with another key)")
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
        return refuse(self, "the manifest is unreadable: %s" % e)
    self.files, self.total, self.i = files, total, -1
    return next_file(self)


def next_file(self):
    """Check the file just written (if any) and open the next; False when refused."""
    d = slot_path(self.target)
    while True:
        if self._f is not None:
            _close(self)
            name, _, sha = self.files[self.i]
            if hexlify(self._h.digest()).decode() != sha:
                return refuse(self, "%s: its sha256 does not match the manifest's" % name)
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
        return refuse(self, "the update was cut off %s: %d of %d bytes came" % (what, self.at, self.total))
    write(BOOTS, "0")
    set_slot(self.target, self.active, conf()[1])  # the switch: this file, written last
    self.state = "switching"
    self.files = self.mac = self._h = None
    print("ota: update %s complete: restarting into slot %s" % (self.id, self.target))
    self.status()
    asyncio.create_task(self.restart())


def refuse(self, reason, abort=True):
    """Refuse the update (or, ``abort=False``, one message) with a reason: counted,
    printed, on the status topic. The running build goes on."""
    self.refused += 1
    self.reason = reason
    print("ota: refused: " + reason)
    if abort and self.state == "receiving":
        _close(self)
        self.state = "refused"
        self.files = self.mac = self._h = None  # nothing of the transfer code stays referenced
        try:
            _clear(slot_path(self.target))
        except OSError:
            pass
    self.status()
    return False


def _close(self):
    if self._f is not None:
        self._f.close()
        self._f = None

