"""Inbox: what the session receives, routed to records, or set aside with a reason.

Each PUBLISH is matched against the inbound links in order; its payload is checked
(size, then the codec: JSON is strict, see strict.py; then the record's type or shape)
and pushed into the graph. Anything else is a dead letter with its reason, counted in
``rejected[kind]`` and printed as one console line, never an exception: ``oversize``,
``malformed``, ``shape``, ``unrouted``, ``refused`` (the graph or the broker said no),
``encode`` (an outbound value the codec could not encode), ``unsent`` (a birth,
SUBSCRIBE or goodbye that did not fit the control queue, a discovery message the
outbox refused). Routing and decoding live in inbound.py, loaded by the bridge's
first subscribe() (until then every message is unrouted).
"""


def _deliver(inbox, topic, payload, qos):
    """inbound.deliver, kept here after the first message: an import per message would
    allocate."""
    global _deliver
    from .inbound import deliver

    _deliver = deliver
    deliver(inbox, topic, payload, qos)


class Inbox:
    def __init__(self, name, links):
        self.name = name
        self.links = links
        self.received = 0
        self.duplicates = 0
        self.rejected = {"oversize": 0, "malformed": 0, "shape": 0, "unrouted": 0, "refused": 0, "encode": 0,
                         "unsent": 0}
        self.error = None
        self.log = print  # one console line per rejection
        self.dead = None  # the graph's DeadLetters once bound
        self._push = None
        self._types = {}

    def bind(self, graph):
        self._push = graph.push
        self.dead = graph.dead_letters
        for link in self.links:
            rec = graph.records.get(link.key)
            if rec is not None:
                self._types[link.key] = rec.type

    def suback(self, codes):
        for c in codes:
            if c == 0x80:
                self.error = "broker refused a subscription"
                self.reject("refused", self.name, [x.template for x in self.links], self.error)
                break

    def oversize(self, topic, size):
        if self.links:  # subscribe() loaded inbound.py
            from .inbound import oversize

            return oversize(self, topic, size)
        self.reject("oversize", self.name, bytes(topic), "%d bytes > receive buffer" % size)

    def deliver(self, topic, payload, qos):
        if self.links:
            return _deliver(self, topic, payload, qos)
        self.reject("unrouted", self.name, bytes(topic), "no inbound link")

    def reject(self, kind, key, value, why):
        self.rejected[kind] += 1
        if self.dead is None:
            from ..buffers import DeadLetters

            self.dead = DeadLetters(8)
        if isinstance(why, Exception):
            why = "%s: %s" % (type(why).__name__, why)
        why = "mqtt %s: %s" % (kind, why)
        self.log("%s: dead letter %s: %s" % (self.name, key, why))
        self.dead.add(key, value, why)
