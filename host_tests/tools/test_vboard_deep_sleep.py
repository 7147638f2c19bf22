"""Deep sleep on a running virtual board: a duty-cycled main.py (rill.sleep) calls the
simulated machine.deepsleep(); the vboard ends the firmware process, keeps the RTC domain
(STATE/rtc), advances the virtual clock by the sleep and starts boot.py and main.py again
with reset cause DEEPSLEEP. N cycles publish N readings to a real mosquitto, one boot and
seq continuing; then stock mpremote talks to the board that woke."""
import json
import os
import time

from rill_host.mqtt_host import Broker, Client

N = 20
MAIN = '''
import asyncio, json
from rill.sim import machine     # a board: import machine
from rill.sleep import DutyCycle

dc = DutyCycle(machine, "node.sleep", max_awake_ms=3000)
cfg = json.load(open("config.json"))
from rill import Pipeline, Ring
from rill.mqtt import Bridge

mq = Bridge("127.0.0.1", device="duty", port=cfg["port"], seq=dc.sequence("node.seq", block=50))
dc.restore(mq)
if dc.cycles >= cfg["cycles"]:
    print("duty: done after %d cycles, %d ms slept" % (dc.cycles, machine.slept_ms()))
else:
    cycle = dc.cycles
    p = Pipeline("duty")
    p.record("t", int, Ring(4))
    p.source("t", lambda: cycle, every_ms=60000)
    mq.publish("t", "d/{device}/t", qos=1)
    mq.attach(p)
    print("duty: cycle %d, woke %s" % (cycle, dc.woke))
    asyncio.run(dc.run(p.build(), mq))
'''


def test_vboard_wakes_from_deep_sleep_and_keeps_numbering(fresh_vboard):
    broker = Broker()
    broker.start()
    client = None
    try:
        client = Client(broker.port, "watch")
        client.subscribe("d/#")
        b = fresh_vboard("RPI_PICO_W", extra=["--heap", "1M"])  # rill as .py sources (--host-lib): compiled here
        with open(os.path.join(b.fs, "main.py"), "w") as f:
            f.write(MAIN)
        with open(os.path.join(b.fs, "config.json"), "w") as f:
            json.dump({"port": broker.port, "cycles": N}, f)
        b.start()
        got = []
        deadline = time.monotonic() + 60
        while "duty: done" not in b.console() and time.monotonic() < deadline:
            msg = client.receive(0.1)
            if msg is not None and msg.topic == "d/duty/t":
                got.append(json.loads(msg.payload))
        console = b.console()
        assert "duty: done after %d cycles" % N in console, console[-2000:]
        while True:
            msg = client.receive(0.3)
            if msg is None:
                break
            if msg.topic == "d/duty/t":
                got.append(json.loads(msg.payload))
        assert [e["v"] for e in got] == list(range(N))
        assert len({e["boot"] for e in got}) == 1  # a wake is not a boot
        seqs = [e["seq"] for e in got]
        assert seqs == list(range(seqs[0], seqs[0] + N))  # numbering continues over each sleep
        assert console.count("vboard: deep sleep") == N
        assert "duty: cycle 0, woke False" in console and "duty: cycle %d, woke True" % (N - 1) in console
        assert os.path.exists(os.path.join(b.dir, "rtc"))  # the RTC domain, in the state folder
        ask = "from rill.sim import machine; print(machine.reset_cause(), machine.slept_ms())"
        r = b.mpremote("resume", "exec", ask)  # resume: no soft reset, the board that woke
        assert r.returncode == 0, r.stdout + r.stderr
        cause, slept = map(int, r.stdout.split())
        assert cause == 4 and slept >= N * 60000 - N * 3000  # DEEPSLEEP_RESET; the clock advanced by each sleep
    finally:
        if client is not None:
            client.close()
        broker.close()
