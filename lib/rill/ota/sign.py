"""HMAC-SHA256 (RFC 2104) over hashlib.sha256, fed in pieces: the OTA manifest's
signature. Written here in a few lines because MicroPython's ports have hashlib.sha256
but no hmac module (micropython-lib's would be one more file to ship for two
hashes), and because the manifest arrives in chunks, so the MAC is updated as they
come rather than over a copy of it in RAM. Same result as CPython's hmac (tested).
Heap: two sha256 objects and 64-byte pads while a manifest arrives."""
import hashlib


class Hmac:
    def __init__(self, key):
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key + bytes(64 - len(key))
        self._outer = bytes(b ^ 0x5C for b in key)
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))

    def update(self, data):
        self._inner.update(data)

    def digest(self):
        return hashlib.sha256(self._outer + self._inner.digest()).digest()


def equal(a, b):
    """``a == b`` in a time that does not depend on where they differ (a MAC check)."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0
