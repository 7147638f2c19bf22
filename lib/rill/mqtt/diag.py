"""The bridge's diagnostics, loaded when first asked for: ``stats()`` and the text of a
refused CONNACK (the birth's build fields are start.identity's). A device that never
asks and is never refused pays no heap for them.
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
