"""Links: which record goes to which topic, and which topics come back as records.

``Outbound(key, topic)``: every value written to record ``key`` is published to
``topic``. The topic is fixed, or a template with ``{device}`` (the bridge's device
id, filled in once) and ``{field}`` placeholders filled from the record's fields on
each publish (``"site/{device}/{room}/temp"``).

Inbound links (topic -> record) are in inbound.py, loaded by the first subscribe().
"""
from .codecs import JSON


def _template(topic, device):
    """Split a topic template into literal bytes and field names, {device} resolved."""
    topic = topic.replace("{device}", device)
    parts = []
    while "{" in topic:
        a = topic.index("{")
        b = topic.index("}", a)
        if a:
            parts.append(topic[:a].encode())
        parts.append(topic[a + 1:b])
        topic = topic[b + 1:]
    if topic:
        parts.append(topic.encode())
    return parts


class Outbound:
    def __init__(self, key, topic, codec=JSON, qos=1, retain=False, envelope=True):
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        self.key = key
        self.template = topic
        self.codec = codec
        self.qos = qos
        self.retain = retain
        self.envelope = envelope
        self.fixed = None
        self._parts = None

    def bind(self, device):
        parts = _template(self.template, device)
        if all(isinstance(p, bytes) for p in parts):
            self.fixed = b"".join(parts)
        else:
            self._parts = parts

    def topic(self, value):
        """The topic for ``value``: KeyError/TypeError if a templated field is missing."""
        if self.fixed is not None:
            return self.fixed
        out = []
        for p in self._parts:
            out.append(p if isinstance(p, bytes) else str(value[p]).encode())
        return b"".join(out)
