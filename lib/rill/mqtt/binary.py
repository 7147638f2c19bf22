"""The fixed-size binary codec, ``Struct`` (see codecs.py for the interface and the
envelope): loaded by the first ``rill.mqtt.Struct``, so a JSON-only device never pays it."""
import struct

from micropython import const

from .raw import _text

_MAGIC = const(0xB2)
_HEAD = const(14)  # magic, device id length, boot, seq: bytes beside the device id

class Struct:
    """Fixed-size binary: ``Struct("<f")`` for a scalar, ``Struct("<ff", ("t", "h"))``
    for a shape dict (fields packed in the given order), else a tuple."""

    name = "struct"

    def __init__(self, fmt, fields=None):
        self.fmt = fmt
        self.fields = tuple(fields) if fields else None
        self.n = struct.calcsize(fmt)

    def _args(self, value):
        if self.fields:
            return [value[f] for f in self.fields]
        return value if isinstance(value, (tuple, list)) else (value,)

    def encode(self, value):
        return struct.pack(self.fmt, *self._args(value))

    def wrap(self, dev, boot, seq, value, origin=None):  # binary: no room for an origin
        dev = _text(dev)
        d = len(dev)
        out = bytearray(_HEAD + d + self.n)
        out[0] = _MAGIC
        out[1] = d
        out[2:2 + d] = dev
        struct.pack_into(">IQ", out, 2 + d, boot, seq)
        struct.pack_into(self.fmt, out, _HEAD + d, *self._args(value))
        return out

    def decode(self, payload):
        if len(payload) != self.n:
            raise ValueError("%d bytes, want %d" % (len(payload), self.n))
        v = struct.unpack(self.fmt, payload)
        if self.fields:
            return dict(zip(self.fields, v))
        return v[0] if len(v) == 1 else v

    def unwrap(self, payload):
        if len(payload) < _HEAD or payload[0] != _MAGIC:
            raise ValueError("not an envelope")
        d = payload[1]
        if len(payload) != _HEAD + d + self.n:
            raise ValueError("%d bytes, want %d" % (len(payload), _HEAD + d + self.n))
        seq = struct.unpack_from(">Q", payload, 6 + d)[0]
        return str(bytes(payload[2:2 + d]), "utf-8"), seq, self.decode(payload[_HEAD + d:])
