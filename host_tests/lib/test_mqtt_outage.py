"""Store and forward through a broker outage: the real broker is stopped mid-stream
and restarted on the same port. The device subscribes to its own topic, so every
envelope that reached the broker comes back, and is counted by sequence number."""
import asyncio

from rill import Pipeline, Ring
from rill.mqtt import Bridge
from testkit import run, until

MP_TIMEOUT_S = 40


class Echo:
    """Sequence numbers seen on the way back (a fixed bitmap: the heap stays flat)."""

    def __init__(self, size=1024):
        self.bits = bytearray(size // 8)
        self.count = 0
        self.dups = 0

    def __call__(self, env):
        s = env["seq"]
        m = 1 << (s & 7)
        if self.bits[s >> 3] & m:
            self.dups += 1
        else:
            self.bits[s >> 3] |= m
            self.count += 1

    def has(self, s):
        return bool(self.bits[s >> 3] & (1 << (s & 7)))

    def missing(self, want):
        return [s for s in want if not self.has(s)]


def rig(broker, capacity, spill=0):
    """A bridge whose outbox holds ``capacity`` records, RAM only unless ``spill`` (bytes)."""
    p = Pipeline("outage")
    p.record("x", float, Ring(32))
    p.source("x")
    p.record("echo", dict, Ring(64))
    echo = Echo()
    p.tap("echo", echo)
    mq = Bridge(broker.host, "dev9", broker.port, outbox=capacity, outbox_bytes=capacity * 56,
                keepalive=5, backoff_ms=(100, 400), connect_timeout_ms=1000, seq=None, spill=spill)
    mq.publish("x", "o/{device}/x", qos=1)
    mq.subscribe("o/{device}/x", "echo")  # the raw envelope, seq included
    mq.attach(p)
    return p.build(), mq, echo


class Producer:
    def __init__(self, g):
        self.g = g
        self.n = 0

    async def run(self, ms, every=10):
        for _ in range(ms // every):
            self.g.push("x", self.n * 1.0)
            self.n += 1
            await asyncio.sleep_ms(every)


def test_outage_with_room_delivers_every_record_once(broker):
    async def main():
        g, mq, echo = rig(broker, 128)
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(100)
        prod = Producer(g)
        await prod.run(500, every=20)
        broker.stop()  # mid-stream: some packets may be in flight
        await prod.run(2000, every=20)  # 100 records into an outbox of 128
        assert mq.state != "online"
        broker.start()
        await prod.run(500, every=20)
        assert await until(lambda: echo.count == prod.n, 10000), (prod.n, echo.count, mq.stats())
        assert echo.missing(range(prod.n)) == []
        assert mq.outbox.dropped == 0 and mq.connects >= 2
        assert await until(lambda: mq.outbox.occupancy() == 0)
        await mq.close()
        g.stop()
        task.cancel()

    run(main())


def test_outage_overflow_drops_oldest_and_counts_them(broker):
    async def main():
        g, mq, echo = rig(broker, 20)
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(100)
        prod = Producer(g)
        await prod.run(300)  # 30 records, all delivered before the outage
        assert await until(lambda: echo.count == 30 and mq.outbox.inflight == 0)
        broker.stop()
        assert await until(lambda: mq.state != "online")
        await prod.run(600)  # 60 records into an outbox of 20
        assert mq.outbox.dropped == 40, mq.stats()
        broker.start()
        assert await until(lambda: mq.state == "online" and mq.outbox.occupancy() == 0, 10000), mq.stats()
        await prod.run(100)  # 10 more once it is back
        assert await until(lambda: echo.count == 60, 10000), (echo.count, mq.stats())
        assert echo.missing(range(30)) == [] and echo.missing(range(70, 100)) == []
        assert not any(echo.has(s) for s in range(30, 70))  # the oldest 40 of the outage went
        assert mq.outbox.dropped == 40 and mq.outbox.produced == 100
        await mq.close()
        g.stop()
        task.cancel()

    run(main())
