"""Links: which record goes to which topic, and which topics come back as records.

``Outbound(key, topic)``: every value written to record ``key`` is published to
``topic``. The topic is fixed, or a template with ``{device}`` (the bridge's device
id, filled in once) and ``{field}`` placeholders filled from the record's fields on
each publish (``"site/{device}/{room}/temp"``).

Inbound links (topic -> record) are in inbound.py, loaded by the first subscribe().
"""
from . import _prep


class Outbound:
    def __init__(self, *a, **k):
        """Outbound(key, topic, codec=JSON, qos=1, retain=False, envelope=True) (prep.outbound)."""
        _prep("outbound", self, *a, **k)

    def bind(self, device):
        """Resolve {device} in the template (prep.bind)."""
        _prep("bind", self, device)

    def topic(self, value):
        """The topic for ``value``: KeyError/TypeError if a templated field is missing."""
        if self.fixed is not None:
            return self.fixed
        out = []
        for p in self._parts:
            out.append(p if isinstance(p, bytes) else str(value[p]).encode())
        return b"".join(out)
