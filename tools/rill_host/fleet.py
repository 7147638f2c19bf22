"""``rill fleet``: N simulated devices, each a real ``rill.mqtt.Bridge`` with its own pipeline,
in one CPython asyncio loop (one core).

Device ``fleet-<i>`` publishes record ``reading`` = ``{"t": celsius, "ts": unix time}`` to
``fleet/<device>/reading``, QoS 1, with the envelope, ``--count`` times at ``--rate`` Hz
(0: as fast as its outbox drains), its sequence persisted under ``--seq-dir`` (so a
second run is a new boot epoch). Then every bridge drains and closes. The last stdout line
is JSON: per device its boot, first and last seq, what its outbox dropped (numbered
but never sent: a gateway reports those as gaps), and ``online``: the unix times (ms)
it connected, seen every 5 ms (a broker restart shows as each device's reconnect:
host_tests/tools/test_fleet_reconnect.py measures how the fleet spreads them).
"""
import argparse
import asyncio
import json
import os
import sys
import time

from rill import Pipeline, Ring
from rill.mqtt import Bridge

TOPIC = "fleet/{device}/reading"


def reading(i):
    return {"t": 20.0 + (i % 24) * 0.5, "ts": time.time()}


class Device:
    def __init__(self, name, host, port, count, rate, seq_dir, outbox=256):
        self.name, self.count, self.rate = name, count, rate
        self.sent = 0
        self.mq = Bridge(host, name, port=port, outbox=outbox, window=64, seq=os.path.join(seq_dir, name + ".seq"),
                         backoff_ms=(100, 2000))
        self.first = self.mq.seq.n
        self.online = []  # unix ms of each connect (watch() below)
        self.seen = 0
        p = Pipeline(name)
        p.record("reading", dict, Ring(32))
        p.source("reading", task=self._produce)
        self.mq.publish("reading", TOPIC, qos=1)
        self.mq.attach(p)
        self.graph = p.build()
        self.done = asyncio.Event()

    async def _produce(self, emit):
        room = self.mq.outbox.capacity - 16
        period = 1.0 / self.rate if self.rate else 0
        t0 = time.monotonic()
        for i in range(self.count):
            while self.mq.outbox.pending() >= room:  # never let the outbox drop for want of room
                await asyncio.sleep(0.002)
            emit(reading(i))
            self.sent += 1
            await asyncio.sleep(max(0, t0 + (i + 1) * period - time.monotonic()))
        self.done.set()
        await asyncio.Event().wait()

    def report(self):
        st = self.mq.stats()
        return {"dev": self.name, "boot": self.mq.seq.boot, "first": self.first, "last": self.mq.seq.n - 1,
                "sent": self.sent, "dropped": st["dropped"], "acked": st["acked"], "online": self.online}


async def watch(fleet):
    """Each device's connects, stamped: one task for the fleet, every 5 ms. Says (one
    stdout line) when every device has been online once."""
    told = False
    while True:
        for d in fleet:
            if d.mq.connects != d.seen:
                d.seen = d.mq.connects
                d.online.append(int(time.time() * 1000))
        if not told and all(d.online for d in fleet):
            told = True
            print("rill fleet: %d devices online" % len(fleet), flush=True)
        await asyncio.sleep(0.005)


async def run(devices, host, port, count, rate, seq_dir, prefix="fleet"):
    os.makedirs(seq_dir, exist_ok=True)
    fleet = [Device("%s-%d" % (prefix, i), host, port, count, rate, seq_dir) for i in range(devices)]
    watcher = asyncio.create_task(watch(fleet))
    for d in fleet:
        d.graph.start()
    for d in fleet:
        await d.done.wait()
    await asyncio.sleep(0.05)  # the taps hand the last readings to the bridges
    await asyncio.gather(*(d.mq.close(10000) for d in fleet))
    for d in fleet:
        d.graph.stop()
    watcher.cancel()
    return [d.report() for d in fleet]


def main(argv=None):
    a = argparse.ArgumentParser(prog="rill fleet", description=__doc__.split("\n\n")[0])
    a.add_argument("--devices", type=int, default=10)
    a.add_argument("--count", type=int, default=100, help="readings per device")
    a.add_argument("--rate", type=float, default=10.0, help="readings per second per device (0: as fast as possible)")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--port", type=int, default=1883)
    a.add_argument("--seq-dir", default="fleet-seq", help="where the devices keep their sequence numbers")
    args = a.parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.monotonic()
    out = asyncio.run(run(args.devices, args.host, args.port, args.count, args.rate, args.seq_dir))
    print(json.dumps({"seconds": round(time.monotonic() - t0, 3), "devices": out}))
    short = [d for d in out if d.get("acked", 0) < d.get("sent", 0)]
    if short:
        sys.stderr.write("rill fleet: %d of %d devices did not get every reading acknowledged by %s:%d\n"
                         % (len(short), len(out), args.host, args.port))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
