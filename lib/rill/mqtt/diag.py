"""The bridge's diagnostics, loaded when first asked for: ``stats()`` (Bridge and
Outbox), the text of a refused CONNACK, and the birth's build fields. A device that
never asks and is never refused pays no heap for them.
"""

REFUSALS = {1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
            4: "bad user name or password", 5: "not authorized"}


def refusal(rc):
    return "broker refused the connection: %s (CONNACK %d)" % (REFUSALS.get(rc, "?"), rc)


def outbox_stats(ob):
    return {"capacity": ob.capacity, "size": ob.size, "occupancy": ob._count,
            "produced": ob.produced, "dropped": ob.dropped, "dropped_sent": ob.dropped_sent,
            "acked": ob.acked, "inflight": ob.inflight, "replaced": ob.replaced}


def stats(mq):
    d = outbox_stats(mq.outbox)
    ib = mq.inbox
    d.update(state=mq.state, error=mq.error or ib.error, connects=mq.connects,
             attempts=mq.attempts, failures=mq.failures, memory_errors=mq.memory_errors,
             received=ib.received, duplicates=ib.duplicates, rejected=ib.rejected,
             boot=mq.seq.boot)
    return d


def _unload(name):
    import sys

    sys.modules.pop(name, None)
    pkg, _, attr = name.rpartition(".")
    pkg = sys.modules.get(pkg)
    if pkg is not None and attr in pkg.__dict__:
        delattr(pkg, attr)


def identity(unload):
    """The birth's build fields (rill.identity.birth): nothing without a build.json;
    else the module is loaded for it and unloaded again (unless it was loaded before).
    ``unload``: this module too (it was loaded for this call)."""
    import os
    import sys

    try:
        os.stat("build.json")
        loaded = "rill.identity" in sys.modules
    except OSError:
        loaded = None
    try:
        if loaded is None:
            return b""
        from .. import identity

        return identity.birth()
    finally:
        if loaded is False:
            _unload("rill.identity")
        if unload:
            _unload(__name__)
