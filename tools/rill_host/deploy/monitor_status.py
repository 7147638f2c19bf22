"""``rill monitor --status HOST:PORT``: what each device holds, from its status records.

Subscribes to the retained status records (rill.status: ``rill/<device>/status/metrics``)
and prints one line per record: the outbox's RAM entries, what is pending (RAM and the
flash spill log, with its bytes), the oldest pending record's age and the drops, e.g.

    gh-1 outbox: RAM 64, pending 250 (flash 186, 12.3 KB), oldest 4.9 s, drops 0 | uptime 812 s, heap low 41230

A record without an outbox part (no bridge) prints its uptime and heap only.
"""
import json
import sys

TOPIC = "rill/%s/status/metrics"


def line(dev, v):
    """The line for status record ``v`` (the envelope's value) of device ``dev``."""
    parts = []
    ob = v.get("outbox")
    if ob is not None:
        parts.append("outbox: RAM %d, pending %d (flash %d, %.1f KB), oldest %.1f s, drops %d" % (
            ob.get("depth", 0), ob.get("pending", ob.get("depth", 0)), ob.get("flash", 0),
            ob.get("flash_bytes", 0) / 1024, ob.get("oldest_ms", 0) / 1000, ob.get("drops", 0)))
    heap = v.get("heap") or {}
    parts.append("uptime %s s, heap low %s" % (v.get("uptime_s"), heap.get("low")))
    return "%s %s" % (dev, " | ".join(parts))


def watch(host, port, device="+", seconds=None, out=sys.stdout):
    """Print a line per status record until ``seconds`` pass (None: until Ctrl-C); the
    number of records printed."""
    import time

    from rill_host.mqtt_host import Client

    c = Client(port, "rill-monitor", host)
    c.subscribe(TOPIC % device)
    end = None if seconds is None else time.monotonic() + seconds
    n = 0
    try:
        while end is None or time.monotonic() < end:
            m = c.receive(0.5 if end is None else max(0.0, min(0.5, end - time.monotonic())))
            if m is None:
                continue
            try:
                env = json.loads(m.payload)
                dev, v = env.get("dev") or m.topic.split("/")[1], env["v"]
            except (ValueError, KeyError, AttributeError, TypeError, IndexError):
                out.write("%s: not a status record (%d bytes)\n" % (m.topic, len(m.payload)))
                continue
            out.write(line(dev, v) + "\n")
            out.flush()
            n += 1
    finally:
        c.close()
    return n
