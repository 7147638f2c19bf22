"""Inbox: what the session receives, routed to records, or set aside with a reason.

Each PUBLISH is matched against the inbound links in order; its payload is checked
(size, then the codec: JSON is strict, see strict.py; then the record's type or shape)
and pushed into the graph. Anything else is a dead letter with its reason, counted in
``rejected[kind]`` and printed as one console line, never an exception: ``oversize``,
``malformed``, ``shape``, ``unrouted``, ``refused`` (the graph or the broker said no),
``encode`` (an outbound value the codec could not encode), ``unsent`` (a birth,
SUBSCRIBE or goodbye that did not fit the control queue, a discovery message the
outbox refused). The topic is split once per message, not once per link, by
inbound.route, which the bridge's first subscribe() sets as ``route`` (until then
every message is unrouted).
"""


def _unrouted(links, topic):
    return None


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
        self.route = _unrouted

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
        topic = bytes(topic)
        link = self.route(self.links, topic)
        self.reject("oversize", link.key if link else self.name, topic, "%d bytes > receive buffer" % size)

    def deliver(self, topic, payload, qos):
        topic = bytes(topic)
        link = self.route(self.links, topic)
        if link is None:
            self.reject("unrouted", self.name, topic, "no inbound link")
            return
        key = link.key
        if len(payload) > link.max_size:
            self.reject("oversize", key, topic, "%d bytes > max_size %d" % (len(payload), link.max_size))
            return
        try:
            if link.envelope:
                dev, seq, value = link.codec.unwrap(payload)
                if link.dedupe and not link.fresh(dev, seq):
                    self.duplicates += 1
                    return
            else:
                value = link.codec.decode(payload)
        except Exception as e:
            self.reject("malformed", key, bytes(payload[:32]), e)
            return
        want = self._types.get(key)
        if want is not None:
            from ..shapes import conforms, type_name

            if not conforms(value, want):
                self.reject("shape", key, value, "not a %s" % type_name(want))
                return
        self.received += 1
        if self._push is None:
            return
        try:
            self._push(key, value)
        except Exception as e:
            self.reject("refused", key, value, e)

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
