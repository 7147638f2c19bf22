"""Inbox: what the session receives, routed to records, or set aside with a reason.

Each PUBLISH is matched against the inbound links in order; its payload is checked
(size, then the codec: JSON is strict, see strict.py; then the record's type or shape)
and pushed into the graph. Anything else is a dead letter with its reason, counted in
``rejected[kind]`` and printed as one console line, never an exception: ``oversize``,
``malformed``, ``shape``, ``unrouted``, ``refused`` (the graph or the broker said no),
``encode`` (an outbound value the codec could not encode), ``unsent`` (a birth,
SUBSCRIBE or goodbye that did not fit the control queue, a discovery message the
outbox refused). Routing and decoding live in inbound.py, loaded by the bridge's
first subscribe() (until then every message is unrouted), and so do SUBACKs and
oversize messages (only a subscriber gets those).
"""

from . import _prep


def _deliver(inbox, topic, payload, qos):
    """inbound.deliver, kept here after the first message: an import per message would
    allocate."""
    global _deliver
    from .inbound import deliver

    _deliver = deliver
    deliver(inbox, topic, payload, qos)


class Inbox:
    def __init__(self, name, links):
        _prep("inbox", self, name, links)

    def deliver(self, topic, payload, qos):
        if self.links:
            return _deliver(self, topic, payload, qos)
        self.reject("unrouted", self.name, bytes(topic), "no inbound link")

    def reject(self, *a):
        """reject(kind, key, value, why): a dead letter (diag.reject): counted, one console
        line, in the graph's dead letters."""
        from .diag import reject

        reject(self, *a)
