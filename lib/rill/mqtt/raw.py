"""The raw-bytes codec, ``Raw``/``RAW`` (see codecs.py for the interface): loaded by
its first use, so a JSON-only device never pays for it."""


def _text(b):
    return b if isinstance(b, (bytes, bytearray)) else str(b).encode()


class Raw:
    """Payload bytes as they are (str is UTF-8 encoded). No envelope."""

    name = "raw"

    def encode(self, value):
        return _text(value)

    def wrap(self, dev, boot, seq, value, origin=None):
        raise ValueError("raw payloads carry no envelope; use envelope=False")

    def unwrap(self, payload):
        raise ValueError("raw payloads carry no envelope; use envelope=False")

    def decode(self, payload):
        return bytes(payload)


RAW = Raw()
