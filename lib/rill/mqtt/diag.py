"""The bridge's diagnostics, loaded when first asked for: ``stats()``, the text of a
refused CONNACK and of every error the session and transport raise (packet.fail), dead
letters (Inbox.reject): a device that never asks and never fails pays no heap for them (the birth's build fields
are start.identity's).
"""

# packet.fail(n): (kind, message) of error n; kind: an errno (OSError), 0 ProtocolError, -1 ValueError
ERRORS = ((0, "bad remaining length"), (0, "QoS %d PUBLISH"), (0, "bad PUBACK"), (0, "bad PUBLISH"),
          (0, "bad SUBACK"), (0, "bad CONNACK"), (0, "unexpected packet 0x%02x"),
          (0, "oversize packet 0x%02x (%d bytes)"), (110, "no CONNACK within %d ms"),
          (110, "broker silent: no PINGRESP within %d ms"),
          (110, "broker stalled: no PUBACK for %d ms with %d in flight"), (110, "connect timed out"),
          (104, "connection closed by broker"), (-1, "CONNECT does not fit in ctl_size"))


def error(n, *a):
    kind, text = ERRORS[n]
    if a:
        text = text % a
    if kind > 0:
        return OSError(kind, text)
    if kind:
        return ValueError(text)
    from .packet import ProtocolError

    return ProtocolError(text)

REFUSALS = {1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
            4: "bad user name or password", 5: "not authorized"}


def reason(rc):
    """The text of a CONNACK refused with return code ``rc``."""
    return "broker refused the connection: %s (CONNACK %d)" % (REFUSALS.get(rc, "?"), rc)


def text(e):
    """An exception as one line: its type and message."""
    return "%s: %s" % (type(e).__name__, e)


def reject(inbox, kind, key, value, why):
    """Inbox.reject: counted in ``rejected[kind]``, one console line, a dead letter with
    the reason (in the graph's dead letters once bound, else in eight of the inbox's own)."""
    inbox.rejected[kind] += 1
    if inbox.dead is None:
        from ..buffers import DeadLetters

        inbox.dead = DeadLetters(8)
    if isinstance(why, Exception):
        why = text(why)
    why = "mqtt %s: %s" % (kind, why)
    inbox.log("%s: dead letter %s: %s" % (inbox.name, key, why))
    inbox.dead.add(key, value, why)


def outbox_stats(ob):
    d = {"capacity": ob.capacity, "size": ob.size, "occupancy": ob.count,
         "produced": ob.produced, "dropped": ob.dropped, "dropped_sent": ob.dropped_sent,
         "acked": ob.acked, "inflight": ob.inflight, "replaced": ob.replaced}
    log = ob.spill
    if log is not None and not isinstance(log, tuple):  # the spill log, once made (spill.py)
        d.update(log.stats())
    return d


def stats(mq):
    d = outbox_stats(mq.outbox)
    ib = mq.inbox
    d.update(state=mq.state, error=mq.error or ib.error, connects=mq.connects,
             attempts=mq.attempts, failures=mq.failures, memory_errors=mq.memory_errors,
             received=ib.received, duplicates=ib.duplicates, rejected=ib.rejected,
             boot=mq.seq.boot)
    return d
