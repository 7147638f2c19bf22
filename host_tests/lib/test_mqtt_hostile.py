"""Hostile and broken brokers: the bridge recovers or reports, never hangs, never
blocks the loop, and its memory stays flat."""
import asyncio
import gc

from rill.mqtt import Bridge
from testkit import run

MP_TIMEOUT_S = 30


class Ticker:
    """A 10 ms periodic task: proves the loop kept running."""

    def __init__(self):
        self.n = 0
        self.on = True

    async def run(self):
        while self.on:
            await asyncio.sleep_ms(10)
            self.n += 1


async def against(host, port, ms, keepalive=5, **kw):
    """Run a bridge against host:port for ``ms``; return it, closed, and the ticks seen."""
    kw.setdefault("spill", 0)  # RAM only: the heap is what is measured here (test_mqtt_spill.py has the log)
    mq = Bridge(host, "h1", port, keepalive=keepalive, backoff_ms=(100, 200), seq=None, **kw)
    mq.publish("x", "h/{device}/x")
    mq.subscribe("h/{device}/cmd", "cmd")
    tick = Ticker()
    tt = asyncio.create_task(tick.run())
    task = asyncio.create_task(mq.run())
    free = None
    for i in range(ms // 50):
        mq.send(mq.outs[0], float(i))  # keep records coming: the outbox must absorb them
        await asyncio.sleep_ms(50)
        if free is None and mq.failures and hasattr(gc, "mem_free"):  # buffers allocated, one attempt
            gc.collect()  # failed (the error texts, diag.py, load with the first failure: once)
            free = gc.mem_free()
    await mq.close(500)
    await task  # close() returned: run() has ended
    tick.on = False
    await tt
    assert mq.state == "closed", mq.state
    gc.collect()
    if free is not None:
        assert gc.mem_free() > free - 2048, (free, gc.mem_free())  # flat: nothing grows per attempt
    assert tick.n >= ms // 10 // 2, tick.n  # the loop was never held up for long
    return mq


def test_broker_that_never_answers_connect(hostile):
    port = hostile.serve("silent")

    async def main():
        mq = await against(hostile.host, port, 1500, connect_timeout_ms=300)
        assert mq.connects == 0 and "no CONNACK" in mq.error, mq.error
        assert 2 <= mq.attempts <= 6, mq.attempts  # each attempt: 300 ms + 50..200 ms backoff
        assert hostile.connections() == mq.attempts
        assert mq.outbox.dropped == 0 and mq.outbox.occupancy() == 30  # nothing lost

    run(main())


def test_broker_that_closes_mid_packet(hostile):
    port = hostile.serve("midpacket")

    async def main():
        mq = await against(hostile.host, port, 1000)
        assert mq.attempts >= 2, mq.stats()
        assert "closed by broker" in mq.error, mq.error
        assert mq.inbox.received == 0 and mq.inbox.rejected["malformed"] == 0

    run(main())


def test_broker_that_sends_a_corrupt_packet(hostile):
    port = hostile.serve("corrupt")

    async def main():
        mq = await against(hostile.host, port, 1000)
        assert mq.attempts >= 2 and hostile.connections() == mq.attempts, mq.stats()
        assert "ProtocolError" in mq.error and "remaining length" in mq.error, mq.error

    run(main())


def test_slowloris_broker_is_declared_dead_and_the_bridge_reconnects(hostile):
    """Bytes keep coming, answers never do: liveness is judged on PINGRESP and PUBACK."""
    port = hostile.serve("slowloris")

    async def main():
        mq = await against(hostile.host, port, 3500, keepalive=1)
        assert mq.connects >= 2 and hostile.connections() >= 2, mq.stats()
        assert "no PINGRESP" in mq.error or "no PUBACK" in mq.error, mq.error
        assert mq.outbox.acked == 0, mq.stats()

    run(main())


def test_stalled_acks_are_declared_dead(hostile):
    """PINGRESPs come back but PUBACKs never do: the progress deadline ends the session."""
    port = hostile.serve("noack")

    async def main():
        mq = await against(hostile.host, port, 2500, keepalive=30, ack_timeout_ms=800)
        assert mq.connects >= 2, mq.stats()
        assert "no PUBACK" in mq.error, mq.error

    run(main())


def test_dead_broker_is_detected_by_keepalive(broker, proxy):
    async def main():
        mq = Bridge(proxy.host, "ka1", proxy.port, keepalive=1, backoff_ms=(100, 200), seq=None)
        task = asyncio.create_task(mq.run())
        for _ in range(200):
            if mq.state == "online":
                break
            await asyncio.sleep_ms(10)
        assert mq.state == "online", mq.error
        proxy.freeze()  # the broker goes silent; the TCP connection stays up
        for _ in range(400):
            if mq.connects == 2 and mq.state == "online":
                break
            await asyncio.sleep_ms(10)
        assert mq.connects == 2 and mq.state == "online", mq.stats()
        assert "silent" in mq.error, mq.error
        await mq.close()
        await task

    run(main())
