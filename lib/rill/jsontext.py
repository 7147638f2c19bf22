"""JSON text that is the same bytes on both runtimes: the one home of its separators.

Captures (rill.io.frame) and MQTT payloads (rill.mqtt.codecs) are compared byte for
byte between a board and a host replay, so they are written by ``dumps``: compact
(``SEP``: no spaces) and with text as MicroPython writes it (UTF-8 as is; control
characters other than ``\\t``, ``\\n``, ``\\r`` as ``\\u00XX``), which CPython's json is
told through rill.cpython_compat. Floats stay each runtime's own text
(docs/evidence.md). Heap: the text.
"""
SEP = (",", ":")

try:
    from json import JSONDecodeError  # noqa: F401  (CPython)
except ImportError:
    import json

    def dumps(value):
        return json.dumps(value, separators=SEP)
else:
    from .cpython_compat import json_dumps

    def dumps(value):
        return json_dumps(value, SEP)
