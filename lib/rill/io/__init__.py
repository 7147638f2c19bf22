"""Run evidence: file-backed sources, power-cut-safe generated files, capture and replay.

Nothing here is imported by the core; each module loads only when an app asks for it.

- ``rill.io.lines``: bounded line reading (one preallocated buffer).
- ``rill.io.frame``: one record per line, ``JSON<TAB>crc32\\n``, and the reader that
  keeps only whole, intact records (what survives a power cut at any byte).
- ``rill.io.sink``: ``FileSink``, a tap that appends framed records to size-capped
  segment files in batches.
- ``rill.io.source``: ``FileSource``, a JSONL or CSV fixture as a task source.
- ``rill.io.recorder``: ``Recorder``, every source's records into a sink.
- ``rill.io.mqttsink``: ``MqttSink``, a capture over MQTT, to a capture topic.
- ``rill.io.checked``: a capture read for a replay, every line checked; the first
  damaged one named in one sentence (``Damaged``), or the good prefix (``salvage``).
- ``rill.io.replay``: ``replay``, a graph fed by a capture in virtual time; its
  bridges' publishes kept, not sent.
"""
