"""Boot bounds end to end: a MicroPython device (the unix port, real rill.mqtt Bridge)
publishes QoS 0 to a real mosquitto while ``rill gateway`` is not subscribed, at the
start of a boot and at its end, so the broker drops those messages (QoS 0, no
subscriber: a true loss). The gateway reports them as gaps from the device's own retained
birth (``"first"``) and goodbye (``"next"``), not from anything the test tells it, on both
stores. A device killed with SIGKILL leaves its last will: counted (``wills``), with no
end it could know.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rill_host.gateway.store import open_store
from rill_host.mqtt_host import Broker, BrokerError, find_mosquitto
from tooltest import ROOT

# one boot per run; stdin lines drive it: "pub N" publishes N readings (QoS 0), "close"
# says goodbye and exits; it prints "ok" after each command and "online" once connected
DEVICE = r'''
import sys, asyncio
from rill import Pipeline, Ring
from rill.mqtt import Bridge

mq = Bridge("127.0.0.1", "b1", int(sys.argv[1]), seq="b1.seq", backoff_ms=(100, 500))
p = Pipeline("b1")
p.record("reading", float, Ring(16))
p.source("reading")
mq.publish("reading", "bounds/{device}/reading", qos=0)
mq.attach(p)
g = p.build()


async def main():
    task = asyncio.create_task(g.run())
    while mq.state != "online":
        await asyncio.sleep_ms(20)
    print("online", mq.seq.boot, mq.seq.n)
    while True:
        line = sys.stdin.readline().split()
        if line[0] == "pub":
            for i in range(int(line[1])):
                g.push("reading", float(i))
                await asyncio.sleep_ms(5)
            while mq.outbox.pending():
                await asyncio.sleep_ms(10)
            print("ok", mq.seq.n)
        elif line[0] == "close":
            await mq.close()
            print("ok", mq.seq.n)
            g.stop()
            task.cancel()
            return


asyncio.run(main())
'''


@pytest.fixture
def broker():
    if not find_mosquitto():
        pytest.skip("mosquitto is not installed")
    try:
        b = Broker("mosquitto")
        b.start()
    except BrokerError as e:
        pytest.skip(str(e))
    yield b
    b.close()


class Device:
    def __init__(self, folder, port):
        from rill_host.common import micropython_exe

        exe = micropython_exe()
        if not exe:
            pytest.skip("no MicroPython unix port")
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib"))
        self.p = subprocess.Popen([exe, "-X", "heapsize=256K", "device.py", str(port)], cwd=folder, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.online = self.read()

    def read(self):
        line = self.p.stdout.readline().split()
        assert line, "the device ended early"
        return [int(x) for x in line[1:]]

    def say(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.read()


class Gateway:
    def __init__(self, folder, port, db):
        self.metrics = os.path.join(folder, "m.json")
        if os.path.exists(self.metrics):
            os.remove(self.metrics)
        self.p = subprocess.Popen([sys.executable, "-m", "rill_host.cli", "gateway", "--port", str(port), "--filter",
                                   "bounds/+/+", "--db", db, "--grace", "0", "--metrics", self.metrics],
                                  stdout=subprocess.PIPE, text=True)

    def stats(self):
        try:
            with open(self.metrics) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def wait(self, cond, what, timeout=20):
        end = time.monotonic() + timeout
        while not cond(self.stats()):
            assert time.monotonic() < end, "timed out waiting for %s: %s" % (what, self.stats())
            time.sleep(0.1)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out = self.p.communicate(timeout=30)[0]
        return out


def test_losses_at_both_ends_of_a_boot_are_gaps_from_the_devices_birth_and_goodbye(broker, tmp_path, store_url):
    folder = str(tmp_path)
    with open(os.path.join(folder, "device.py"), "w") as f:
        f.write(DEVICE)
    db = store_url  # a SQLite file or a PostgreSQL database
    d = Device(folder, broker.port)  # boot 0: says goodbye at once, so boot 1 starts past a reserved block
    assert d.online == [0, 0] and d.say("close") == [0]
    d.p.wait(10)

    d = Device(folder, broker.port)  # boot 1, first = 1000
    boot, first = d.online
    assert (boot, first) == (1, 1000)
    assert d.say("pub 2") == [first + 2]  # no gateway subscribed: the broker drops them
    gw = Gateway(folder, broker.port, db)
    gw.wait(lambda s: s.get("status") == 1, "the retained birth")  # subscribed: the birth came retained
    assert d.say("pub 5") == [first + 7]
    gw.wait(lambda s: s.get("stored") == 5 and s.get("gaps") == 1, "5 stored and the start gap")
    said = gw.stop()
    assert d.say("pub 3") == [first + 10]  # the gateway is gone: dropped
    assert d.say("close") == [first + 10]  # the goodbye, retained: "next" = first + 10
    d.p.wait(10)
    gw = Gateway(folder, broker.port, db)
    gw.wait(lambda s: s.get("status") == 1 and s.get("gaps") == 1, "the retained goodbye and the end gap")
    said += gw.stop()
    s = open_store(db)
    try:
        assert s.gaps() == [("b1", "", 1, first, first + 1), ("b1", "", 1, first + 7, first + 9)]
        assert s.q("SELECT COUNT(*) FROM seen")[0][0] == 5
    finally:
        s.close()
    assert "gap b1 boot 1: seq 1000..1001 missing" in said and "gap b1 boot 1: seq 1007..1009 missing" in said
    print("boot bounds end to end: 5 stored, 0 duplicates, gaps %s" % [(first, first + 1), (first + 7, first + 9)])

    d = Device(folder, broker.port)  # boot 2 dies without a goodbye: its last will
    gw = Gateway(folder, broker.port, db)
    gw.wait(lambda s: s.get("status") == 1, "the retained birth of boot 2")
    assert d.online[0] == 2 and d.say("pub 2") == [d.online[1] + 2]
    gw.wait(lambda s: s.get("stored") == 2, "boot 2's messages")
    d.p.kill()
    d.p.wait(10)
    gw.wait(lambda s: s.get("wills") == 1, "the last will", timeout=30)
    said = gw.stop()
    assert "b1 boot 2 lost its connection without a goodbye (last will)" in said
