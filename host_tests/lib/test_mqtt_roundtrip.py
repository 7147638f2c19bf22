"""MQTT round trip through a real broker: values, order and shapes survive both codecs."""
import asyncio

from rill import Pipeline, Ring
from rill.mqtt import Bridge, Struct
from testkit import run, until

MP_TIMEOUT_S = 30
MP_HEAPSIZE = "192K"  # a bridge with a 128-entry outbox, six records and this module compiled from source, on 64 bits


def value(k, i):
    """The i-th value sent on record k (regenerated on arrival: nothing is stored)."""
    if k == "temp":
        return i * 0.25
    if k == "env":
        return {"room": "r%d" % (i % 3), "t": i * 0.5, "h": 40.0 + i}
    return {"a": i - 20, "b": i * 0.125}


class InOrder:
    """A tap checking that values arrive complete and in order."""

    def __init__(self, k):
        self.k = k
        self.n = 0
        self.wrong = None

    def __call__(self, v):
        if self.wrong is None and v != value(self.k, self.n):
            self.wrong = (self.n, v, value(self.k, self.n))
        self.n += 1


def test_round_trip_keeps_values_and_order(broker):
    async def main():
        p = Pipeline("rt")
        shape = {"room": str, "t": float, "h": float}
        for k, t in (("temp", float), ("env", shape), ("bin", {"a": int, "b": float})):
            p.record(k, t, Ring(16))
            p.record(k + "_back", t, Ring(16))
            p.source(k)
        got = {}
        for k in ("temp", "env", "bin"):
            got[k] = InOrder(k)
            p.tap(k + "_back", got[k])
        mq = Bridge(broker.host, "dev1", broker.port, keepalive=10, outbox=128, outbox_bytes=8192,
                    seq=None)  # all 120 fit
        mq.publish("temp", "rt/{device}/temp", qos=1)
        mq.publish("env", "rt/{device}/env/{room}", qos=0)  # topic from a record field
        bin_codec = Struct(">hf", ("a", "b"))
        mq.publish("bin", "rt/{device}/bin", codec=bin_codec, qos=1)
        mq.subscribe("rt/{device}/temp", "temp_back", envelope=True)
        mq.subscribe("rt/+/env/#", "env_back", envelope=True)
        mq.subscribe("rt/{device}/bin", "bin_back", codec=bin_codec, envelope=True)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(100)  # SUBACK
        for i in range(40):
            for k in ("temp", "env", "bin"):
                g.push(k, value(k, i))
            if i % 8 == 7:
                await asyncio.sleep_ms(2)
        assert await until(lambda: all(got[k].n >= 40 for k in got)), [got[k].n for k in got]
        for k in got:
            assert got[k].n == 40 and got[k].wrong is None, (k, got[k].n, got[k].wrong)
        assert await until(lambda: mq.outbox.acked == 80), mq.stats()
        assert mq.outbox.dropped == 0
        assert g.dead_letters.produced == 0, g.dead_letters.entries()
        await mq.close()
        assert mq.state == "closed"
        g.stop()
        task.cancel()

    run(main())


def test_inbound_bad_payloads_become_dead_letters(broker):
    """Malformed, wrong-shape, oversize and a 10 MB payload: counted dead letters,
    the connection stays up, good messages still arrive, memory stays bounded."""
    import gc

    async def main():
        p = Pipeline("in", dead_letters=16)
        p.record("cmd", {"led": bool}, Ring(8))
        got = []
        p.tap("cmd", got.append)
        mq = Bridge(broker.host, "dev2", broker.port, keepalive=10, seq=None)
        mq.subscribe("in/{device}/#", "cmd", max_size=64)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(100)
        broker.publish("in/dev2/cmd", '{"led": true}')
        broker.publish("in/dev2/cmd", '{"led": tru')
        broker.publish("in/dev2/cmd", '{"led": 3}')
        broker.publish("in/dev2/cmd", '{"led": false, "pad": "' + "x" * 200 + '"}')
        assert await until(lambda: mq.inbox.received >= 1 and mq.inbox.rejected["oversize"] >= 1)
        gc.collect()
        free = gc.mem_free() if hasattr(gc, "mem_free") else 0
        broker.publish_big("in/dev2/big", 10 * 1024 * 1024)
        assert await until(lambda: mq.inbox.rejected["oversize"] >= 2, 20000), mq.stats()
        broker.publish("in/dev2/cmd", '{"led": false}')
        assert await until(lambda: len(got) >= 2), mq.stats()
        gc.collect()
        if hasattr(gc, "mem_free"):
            assert gc.mem_free() > free - 4096, (free, gc.mem_free())
        assert got == [{"led": True}, {"led": False}]
        want = {"oversize": 2, "malformed": 1, "shape": 1, "unrouted": 0, "refused": 0, "encode": 0, "unsent": 0}
        assert mq.inbox.rejected == want, mq.inbox.rejected
        assert mq.connects == 1, mq.error
        reasons = [e[2] for e in g.dead_letters.entries()]
        assert len(reasons) == 4 and "malformed" in reasons[0] and "shape" in reasons[1], reasons
        assert "oversize" in reasons[2] and "10485760 bytes" in reasons[3], reasons
        await mq.close()
        g.stop()
        task.cancel()

    run(main())
