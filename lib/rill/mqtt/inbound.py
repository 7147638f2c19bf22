"""Inbound links: which topics come back as records (loaded by ``Bridge.subscribe``: a
publish-only device never pays for them).

``Inbound(filter, key)``: messages on topic ``filter`` (MQTT wildcards ``+`` and
``#``; ``{device}`` is filled in) become values of record ``key``. ``max_size`` caps
the payload: anything bigger becomes a dead letter, never an allocation.
``route(links, topic)`` finds the link of an inbound message; ``deliver`` and
``oversize`` are the Inbox's (bridge.py) once it has links.
"""
from .codecs import JSON
from .packet import publish_qos


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


def suback(inbox, codes):
    """A SUBACK: a refused subscription is a dead letter and the inbox's error."""
    for c in codes:
        if c == 0x80:
            inbox.error = "broker refused a subscription"
            inbox.reject("refused", inbox.name, [x.template for x in inbox.links], inbox.error)
            break


def oversize(inbox, topic, size):
    """A PUBLISH over the receive buffer: a dead letter under the routed record."""
    topic = bytes(topic)
    link = route(inbox.links, topic)
    inbox.reject("oversize", link.key if link else inbox.name, topic, "%d bytes > receive buffer" % size)


def deliver(inbox, topic, payload, qos):
    """Inbox.deliver once there are links: route, check the size, decode, check the
    shape, push; anything else is a dead letter (inbox.reject)."""
    topic = bytes(topic)
    link = route(inbox.links, topic)
    if link is None:
        inbox.reject("unrouted", inbox.name, topic, "no inbound link")
        return
    key = link.key
    if len(payload) > link.max_size:
        inbox.reject("oversize", key, topic, "%d bytes > max_size %d" % (len(payload), link.max_size))
        return
    try:
        if link.envelope:
            dev, seq, value = link.codec.unwrap(payload)
            if link.dedupe and not link.fresh(dev, seq):
                inbox.duplicates += 1
                return
        else:
            value = link.codec.decode(payload)
    except Exception as e:
        inbox.reject("malformed", key, bytes(payload[:32]), e)
        return
    want = inbox._types.get(key)
    if want is not None:
        from ..shapes import conforms, type_name

        if not conforms(value, want):
            inbox.reject("shape", key, value, "not a %s" % type_name(want))
            return
    inbox.received += 1
    if inbox._push is None:
        return
    try:
        inbox._push(key, value)
    except Exception as e:
        inbox.reject("refused", key, value, e)


def oversized(self, i, hl, rem, end):
    """Session ``self``'s PUBLISH at rx[i:end], bigger than its receive buffer: once its
    topic (and packet id) are in, report it, acknowledge it and skip the rest. True when
    it switched to skipping; False when more of the header must be read first."""
    buf = self.rx
    qos = publish_qos(buf[i])
    if end - i < hl + 2:
        return False
    tl = buf[i + hl] << 8 | buf[i + hl + 1]
    head = hl + 2 + tl + (2 if qos else 0)
    if head <= len(buf):
        if end - i < head:
            return False  # the caller moves it to the front; read the rest of the header
        if len(self.ctl) - self.tail + self.head < 4:
            self.stalled = True
            return False
        oversize(self.inbox, self._rxv[i + hl + 2:i + hl + 2 + tl], rem - head + hl)
        if qos:  # the PUBACK, its packet id copied (room checked above)
            k = self._reserve(4)
            ctl = self.ctl
            ctl[k] = 0x40
            ctl[k + 1] = 2
            ctl[k + 2] = buf[i + head - 2]
            ctl[k + 3] = buf[i + head - 1]
    else:
        oversize(self.inbox, self._rxv[i + hl + 2:end], rem - head + hl)
    self.skip = hl + rem - (end - i)
    self.start = self.pos = 0
    return True
