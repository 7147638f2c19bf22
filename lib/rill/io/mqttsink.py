"""``MqttSink``: a capture (rill.io.recorder) over MQTT, to a capture topic.

    mq = Bridge("broker.local", device="porch-1")
    rec = Recorder(MqttSink(mq)).attach(g, bridges=[mq])      # to rill/porch-1/capture

Each capture record is one QoS 1 message in rill's JSON envelope (rill.mqtt.codecs):
``{"dev":D,"boot":B,"seq":S,"v":RECORD}``, where RECORD is the JSON a FileSink frames
for that record, the same bytes (rill.jsontext): ``rill capture`` writes it back as
a capture file. ``seq`` numbers capture messages only, in a Sequence of their own
(``.rill/{device}.capture.seq`` by default, kept like the bridge's: never reused across
reboots; None: RAM only, from 0), so a consumer de-duplicates by (dev, seq) and sees a
gap for each record lost, and the app's envelopes keep the numbers they have without
a capture, which a replay reproduces.

Bounded while offline: messages wait in the bridge's outbox until the broker has them.
A record the outbox refuses (DROP_NEWEST when full, or its oldest entry mid-write) or
longer than ``max_line`` raises: ``dropped`` / ``refused`` count it here, and the
Recorder counts it (``failed``) and keeps it as a dead letter. Under DROP_OLDEST a full
outbox evicts its oldest entries instead (the bridge's ``dropped``); the consumer sees
their gaps. Size the outbox for the capture and the app's publishes together.

Heap: per record, the envelope (the record's JSON and ~30 bytes), until the outbox
has copied it into its arena.
"""


class MqttSink:
    def __init__(self, bridge, topic="rill/{device}/capture", seq=".rill/{device}.capture.seq", max_line=512):
        from ..mqtt.codecs import Json  # here: only a board with a Bridge, hence rill.mqtt, makes one
        from ..mqtt.seq import Sequence

        self.bridge = bridge
        self.topic = topic.replace("{device}", bridge.device).encode()
        if isinstance(seq, str):
            seq = Sequence(seq.replace("{device}", bridge.device))
        self.seq = seq if seq is not None else Sequence()
        self.codec = Json()  # its own: its envelope head is kept for this boot
        self.max_line = max_line
        self.sent = self.refused = self.dropped = 0

    def write(self, value):
        """Queue ``value`` as the next capture message; raises if it cannot be (counted)."""
        try:
            payload = self.codec.wrap(self.bridge.device, self.seq.boot, self.seq.next(), value)
            if len(payload) > self.max_line:
                raise ValueError("record of %d bytes is longer than max_line %d" % (len(payload), self.max_line))
        except Exception:  # not JSON, or too long
            self.refused += 1
            raise
        if not self.bridge.put(self.topic, payload, 1, False):
            self.dropped += 1
            raise OSError("the MQTT outbox is full: capture record dropped")
        self.sent += 1

    def close(self):
        """Nothing waits here: the bridge delivers (``await bridge.close()`` drains it)."""

    def stats(self):
        return {"sent": self.sent, "refused": self.refused, "dropped": self.dropped, "seq": self.seq.n}
