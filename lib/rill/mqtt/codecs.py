"""Payload codecs: JSON (default); compact binary (struct) and raw bytes are in binary.py.

A codec turns a record value into payload bytes and back, bare or inside the
envelope that carries the device id and a per-device sequence number:

JSON envelope (UTF-8 object, keys in this order)::

    {"dev": "<device id>", "boot": <int>, "seq": <int>, "v": <record value>}

and, from a graph built with ``lineage=True``, the record's origin (rill.lineage)::

    {"dev": ..., "boot": ..., "seq": ..., "v": ..., "o": {"<source record>": [first, last]}}

Binary envelope (``Struct`` codec), big-endian::

    byte 0      0xB2                  magic and envelope version 2
    byte 1      n                     length of the device id
    n bytes     device id (UTF-8)
    4 bytes     boot                  unsigned 32-bit
    8 bytes     seq                   unsigned 64-bit
    rest        the record, packed with the link's struct format

A float that is NaN or infinite is sent as ``null`` in JSON (they have no JSON form).
``seq`` only ever increases per device (across reboots while the Bridge persists it,
its default), so a consumer de-duplicates by (dev, seq): delivery is at least once.
``boot`` counts the device's boots (see seq.py). Decoding raises ValueError on anything
malformed, JSON included (strict.py: RFC 8259, identical on both runtimes); the Inbox
turns that into a dead letter.
"""
from ..jsontext import dumps  # compact, the same bytes on both runtimes


class Json:
    name = "json"

    def __init__(self):
        self.device = self.boot = self._head = None  # the device and boot the head was made for

    def encode(self, value):
        return dumps(value).encode()

    def wrap(self, device, boot, seq, value, origin=None):
        """The envelope ``{"dev","boot","seq","v"[,"o"]}``; ``origin`` (rill.lineage's
        {source key: [first, last]}) goes in as ``"o"``."""
        if device is not self.device or boot != self.boot:
            self.device = device
            self.boot = boot
            self._head = ('{"dev":%s,"boot":%d,"seq":' % (dumps(device), boot)).encode()
        t = type(value)
        if t is float:
            if value - value == 0:  # finite: repr is its JSON (3x faster than dumps)
                out = b'%s%d,"v":%r}' % (self._head, seq, value)
            else:
                out = b'%s%d,"v":null}' % (self._head, seq)  # NaN, inf: not JSON; null, as JS does
        elif t is int:
            out = b'%s%d,"v":%d}' % (self._head, seq, value)
        else:
            out = b'%s%d,"v":%s}' % (self._head, seq, dumps(value).encode())
        if origin:
            return out[:-1] + b',"o":' + dumps(origin).encode() + b"}"
        return out

    def decode(self, payload):
        from ..strict import loads  # decoding: only once JSON arrives (a publish-only device never pays)

        return loads(payload)

    def unwrap(self, payload):
        from ..strict import loads, unwrap

        return unwrap(loads(payload))


JSON = Json()


def __getattr__(name):
    """Struct (binary.py), Raw and RAW (raw.py) load on first use: a JSON-only device pays nothing
    for them."""
    if name in ("Struct", "Raw", "RAW"):
        return getattr(__import__("rill.mqtt." + ("binary" if name == "Struct" else "raw"), None, None, (name,)), name)
    raise AttributeError(name)
