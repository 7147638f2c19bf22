"""Connection lifecycle against a real broker: credentials, last will and birth,
re-subscription after a reconnect, clean shutdown."""
import asyncio
import time

from rill import Pipeline, Ring
from rill.mqtt import Bridge
from testkit import MICROPYTHON, raises, run, until

MP_TIMEOUT_S = 30
MP_HEAPSIZE = "192K"  # several bridges with default outboxes, and this module from source, on 64 bits
ONLINE = '{"status":"online","boot":0,"first":0}'  # the birth: the boot counter and its first number
OFFLINE = '{"status":"offline","boot":0}'  # the last will: fixed at CONNECT, no end to tell


def test_wrong_credentials_clear_error_and_bounded_retries(auth_broker):
    async def main():
        mq = Bridge(auth_broker.host, "cred1", auth_broker.port, user=auth_broker.user,
                    password="wrong", auth_retries=2, backoff_ms=(200, 1000), seq=None)
        t0 = time.ticks_ms()
        await asyncio.wait_for(mq.run(), 10)  # returns by itself: no endless retrying
        dt = time.ticks_diff(time.ticks_ms(), t0)
        assert mq.state == "refused" and mq.connects == 0, mq.stats()
        assert mq.attempts == 3, mq.attempts
        assert "not authorized" in mq.error or "bad user name or password" in mq.error, mq.error
        assert dt >= 100 + 200, dt  # two backoffs of at least half of 200 and 400 ms

        ok = Bridge(auth_broker.host, "cred2", auth_broker.port, user=auth_broker.user,
                    password=auth_broker.password, seq=None)
        task = asyncio.create_task(ok.run())
        assert await until(lambda: ok.state == "online"), ok.error
        await ok.close()
        await task

    run(main())


def test_keepalive_zero_keeps_the_session_without_pings(broker):
    async def main():
        mq = Bridge(broker.host, "ka0", broker.port, keepalive=0, seq=None)
        task = asyncio.create_task(mq.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(1500)
        assert mq.state == "online" and mq.connects == 1 and mq.session.pongs == 0, mq.stats()
        await mq.close()
        await task

    run(main())


def test_last_will_birth_and_resubscribe_after_connection_killed(broker, proxy):
    async def main():
        w = broker.watch("devices/lw1/status")
        p = Pipeline("lw")
        p.record("cmd", str, Ring(8))
        got = []
        p.tap("cmd", got.append)
        mq = Bridge(proxy.host, "lw1", proxy.port, keepalive=5, backoff_ms=(100, 200), seq=None)
        mq.subscribe("lw/{device}/cmd", "cmd")
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        assert await until(lambda: broker.seen(w) == [ONLINE], every=50), broker.seen(w)
        assert proxy.cut() == 1  # the device's TCP connection dies; no DISCONNECT is sent
        assert await until(lambda: broker.seen(w)[1:] == [OFFLINE, ONLINE], every=50), broker.seen(w)
        assert mq.connects == 2
        broker.publish("lw/lw1/cmd", '"ping"')  # the subscription came back with the connection
        assert await until(lambda: got == ["ping"]), (got, mq.stats())
        mq.seq.next(), mq.seq.next()  # two numbers handed out: the goodbye says where they end
        await mq.close()
        bye = '{"status":"offline","boot":0,"next":2}'
        assert await until(lambda: broker.seen(w)[-1:] == [bye], every=50), broker.seen(w)
        assert mq.state == "closed" and g.records["mqtt"].value == "closed"
        g.stop()
        task.cancel()

    run(main())


def test_a_memory_error_at_connect_is_counted_backed_off_and_survived(broker):
    """Not a connection error: counted apart (``memory_errors``), retried after the
    backoff (no spinning), and the bridge connects once memory is there again."""
    async def main():
        mq = Bridge(broker.host, "oom1", broker.port, backoff_ms=(100, 200), seq=None)
        real = mq.transport.open

        async def no_memory(timeout_ms):
            raise MemoryError("memory allocation failed, allocating 16384 bytes")  # as TLS's buffers would

        mq.transport.open = no_memory
        t0 = time.ticks_ms()
        task = asyncio.create_task(mq.run())
        assert await until(lambda: mq.attempts >= 3), mq.stats()
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        st = mq.stats()
        assert st["memory_errors"] == mq.attempts, st
        assert mq.attempts <= 1 + elapsed // 50, (mq.attempts, elapsed)  # backed off: 50..200 ms apart, no spinning
        assert mq.state in ("backoff", "connecting") and mq.connects == 0 and "MemoryError" in mq.error, st
        mq.transport.open = real
        assert await until(lambda: mq.state == "online"), mq.stats()
        assert mq.stats()["memory_errors"] == mq.attempts - 1 == mq.failures
        await mq.close()
        await task

    run(main())


def test_tls_verifies_the_broker_against_a_ca(tls_broker):
    async def main():
        p = Pipeline("tls")
        p.record("x", float, Ring(8))
        p.source("x")
        p.record("back", float, Ring(8))
        got = []
        p.tap("back", got.append)
        mq = Bridge(tls_broker.host, "tls1", tls_broker.port, connect_timeout_ms=3000, outbox=8,
                    tls={"cafile": tls_broker.cafile, "server_hostname": "localhost"}, seq=None)
        mq.publish("x", "tls/{device}/x")
        mq.subscribe("tls/{device}/x", "back", envelope=True)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        await asyncio.sleep_ms(100)
        for i in range(5):
            g.push("x", i * 1.5)
        assert await until(lambda: len(got) == 5), (got, mq.stats())
        assert got == [0.0, 1.5, 3.0, 4.5, 6.0]
        await mq.close()
        g.stop()
        task.cancel()

    run(main())


async def refused(host, port, tls):
    """A bridge that must end, by itself, in state refused; returns it."""
    mq = Bridge(host, "tls2", port, connect_timeout_ms=2000, backoff_ms=(50, 100), outbox=8, auth_retries=1,
                tls=tls, seq=None)
    task = asyncio.create_task(mq.run())
    assert await until(lambda: task.done(), 10000), mq.stats()  # bounded retries, then a final state
    assert mq.state == "refused" and mq.connects == 0 and mq.attempts == 2, mq.stats()
    assert "certificate" in mq.error, mq.error
    return mq


def test_tls_refuses_a_wrong_ca_and_a_wrong_host_name(tls_broker):
    async def main():
        await refused(tls_broker.host, tls_broker.port, {"cafile": tls_broker.wrong_cafile})
        await refused(tls_broker.host, tls_broker.port, {"cafile": tls_broker.cafile,
                                                          "server_hostname": "not-the-broker.example"})

    run(main())


def test_tls_refuses_an_impostor_with_a_look_alike_ca(impostor_broker):
    """The impostor's CA has the same name as the trusted one, but another key."""
    async def main():
        await refused(impostor_broker.host, impostor_broker.port, {"cafile": impostor_broker.trusted})

    run(main())


def test_tls_without_a_ca(tls_broker):
    """CPython verifies against the system's CA store (which does not know the test CA);
    MicroPython has none, so the bridge refuses to start, saying what to give it."""
    if MICROPYTHON:
        with raises(ValueError, match="cafile"):
            Bridge(tls_broker.host, "tls3", tls_broker.port, tls={}, seq=None)
    else:
        run(refused(tls_broker.host, tls_broker.port, {}))


def test_tls_insecure_connects_and_says_so_at_every_connect(tls_broker):
    async def main():
        mq = Bridge(tls_broker.host, "tls4", tls_broker.port, tls={"insecure": True}, seq=None, keepalive=5,
                    backoff_ms=(50, 100))
        said = []
        mq.transport.log = said.append
        task = asyncio.create_task(mq.run())
        assert await until(lambda: mq.state == "online"), mq.error
        mq.session.end.set()  # the session ends: the bridge connects again
        assert await until(lambda: mq.connects == 2 and mq.state == "online"), mq.stats()
        assert len(said) == 2 and "WITHOUT certificate verification" in said[0], said
        await mq.close()
        await task

    run(main())


def test_a_certificate_refusal_on_a_board_without_a_clock_says_so():
    from rill.mqtt import tls

    if MICROPYTHON:
        e = ValueError("\nThe certificate is not correctly signed by the trusted CA\n")
    else:
        import ssl

        e = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert "not trusted" in tls.reason(e) and "clock" not in tls.reason(e)
    real = tls.time

    class NoClock:
        @staticmethod
        def gmtime():
            return (2000, 1, 1, 0, 0, 12, 5, 1)

    tls.time = NoClock
    try:
        assert "clock is not set" in tls.reason(e), tls.reason(e)
    finally:
        tls.time = real
    assert tls.reason(OSError(104, "reset")) is None
