"""rill.mqtt: an MQTT 3.1.1 bridge for pipelines, running inside the pipeline's loop.

    from rill import Pipeline, Ring
    from rill.mqtt import Bridge

    p = Pipeline("greenhouse")
    p.record("temp", float, Ring(32))          # a Ring: every value is sent, not just the latest
    p.record("cmd", {"led": bool})
    ...
    mq = Bridge("broker.local", device="gh-1", user="gh", password="...", tls={"cafile": "ca.der"})
    mq.publish("temp", "site/{device}/temp", qos=1)         # record -> topic, JSON envelope
    mq.subscribe("site/{device}/cmd", "cmd", max_size=128)  # topic -> record (a pushed source)
    mq.attach(p)                                            # before build(); adds record "mqtt"
    await p.build().run()

The connection state ("connecting", "online", "backoff", "refused", "closed") is record
``mqtt``; counters are in ``mq.stats()``; bad inbound payloads are in the graph's dead
letters. The envelope is described in codecs.py.

Modules, one job each: bridge (Bridge: the declarative surface, reconnects; Outbound
links; the Inbox: inbound messages, dead letters, counters), session (one connection:
rx, tx, keepalive, liveness, the QoS 1 window; and its Transport, non-blocking TCP), tls
(verification; imported only with TLS), packet (the MQTT wire format, no I/O), outbox
(store and forward), spill (the outbox's overflow on flash; loaded by the first record a
full outbox cannot take, or at setup by a previous boot's log), prep and start (the
setup code: constructors, attach(); the session and its packets; each loaded for its
call and unloaded after), seqfile (the sequence store's files, loaded the same way),
close (stopping; loaded by the first close), diag (stats(), error texts and dead
letters; loaded by the first use), inbound (subscriptions and routing; imported only by
subscribe()), codecs (JSON, struct, raw; the envelope), seq (sequence numbers and the
boot counter), discovery (Home Assistant; imported only by apps that announce
themselves to it). Backoff lives in rill.backoff, the socket wait (IoWait) in
rill.buffers, strict JSON in rill.strict. Nothing here imports umqtt.simple: see
docs/mqtt.md.
"""


def _prep(name, *a, **k):
    """prep.<name>(*a, **k), or start.<fn> for name "start.<fn>": setup code (prep.py,
    start.py), loaded for the call and unloaded after, unless the call is nested in
    another (then the outer one unloads it)."""
    import sys

    mod, _, name = name.rpartition(".")
    mod = mod or "prep"
    full = __name__ + "." + mod
    loaded = full in sys.modules
    try:
        return getattr(__import__(full, None, None, (name,)), name)(*a, **k)
    finally:
        if not loaded:
            sys.modules.pop(full, None)
            globals().pop(mod, None)


from .. import backoff  # noqa: F401, E402
from . import session  # noqa: F401, E402, I001  (what a running bridge uses: counted in the import)
from .bridge import Bridge  # noqa: F401, E402  (after _prep, which the modules import)
from .codecs import JSON, Json  # noqa: F401, E402  (the public names; RAW, Raw, Struct: below)
from .outbox import DROP_NEWEST, DROP_OLDEST  # noqa: F401, E402
from .seq import Sequence, SequenceError  # noqa: F401, E402


def __getattr__(name):
    """Struct (binary.py), Raw and RAW (raw.py) load on first use; any other name is a submodule."""
    if name in ("Struct", "Raw", "RAW"):
        return getattr(__import__("rill.mqtt." + ("binary" if name == "Struct" else "raw"), None, None, (name,)), name)
    if name[:2] == "__":
        raise AttributeError(name)
    __import__(__name__ + "." + name)
    return globals()[name]
