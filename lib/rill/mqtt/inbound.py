"""Inbound links: which topics come back as records (loaded by ``Bridge.subscribe``: a
publish-only device never pays for them).

``Inbound(filter, key)``: messages on topic ``filter`` (MQTT wildcards ``+`` and
``#``; ``{device}`` is filled in) become values of record ``key``. ``max_size`` caps
the payload: anything bigger becomes a dead letter, never an allocation.
``route(links, topic)`` finds the link of an inbound message.
"""
from .codecs import JSON


class Inbound:
    def __init__(self, filter, key, codec=JSON, max_size=256, qos=1, envelope=False, dedupe=False):
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        if dedupe and not envelope:
            raise ValueError("dedupe needs envelope=True")
        self.key = key
        self.template = filter
        self.codec = codec
        self.max_size = max_size
        self.qos = qos
        self.envelope = envelope
        self.dedupe = dedupe
        self.filter = None
        self.levels = None  # the filter split at "/", for route()
        self._last = {}  # device id -> last sequence number seen (dedupe)

    def bind(self, device):
        self.filter = self.template.replace("{device}", device).encode()
        self.levels = self.filter.split(b"/")

    def fresh(self, dev, seq):
        """Dedupe: True the first time (dev, seq) is seen, in a per-device ordered stream."""
        last = self._last.get(dev)
        if last is not None and seq <= last:
            return False
        if last is None and len(self._last) >= 16:
            self._last.clear()  # bounded: forget, rather than grow
        self._last[dev] = seq
        return True


def route(links, topic):
    """The first of ``links`` whose filter matches ``topic`` (bytes), or None; the topic
    is split once, not once per link. MQTT 3.1.1 rules, including: ``a/#`` matches
    ``a``; wildcards never match a leading ``$`` level."""
    t = topic.split(b"/")
    n = len(t)
    dollar = t[0].startswith(b"$")
    for link in links:
        levels = link.levels
        if dollar and levels[0] in (b"+", b"#"):
            continue
        for i in range(len(levels)):
            f = levels[i]
            if f == b"#":
                return link
            if i >= n or (f != b"+" and f != t[i]):
                break
        else:
            if n == len(levels):
                return link
    return None
