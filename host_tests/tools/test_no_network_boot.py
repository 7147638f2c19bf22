"""Start without a network (issue 20, item 4) on the simulated board clock (rill.sim.power:
under $VBOARD_RTC it starts unset, in 2000, as a board's RTC): a MicroPython process (the
32-bit port when there is one) boots with no broker and no SNTP server for 60 s of virtual
time; its readings wait in the outbox. Then the TLS broker comes up while SNTP is still
away: the bridge does not connect (the broker never sees it) and says why. Then a small
SNTP server in this test answers: the clock is set (rill.timesync), the bridge connects
with verification on and delivers all 60 readings."""
import json
import os
import socket
import struct
import subprocess
import threading
import time

from rill_host.common import board_micropython
from rill_host.mqtt_host import Broker, Client, free_port
from tooltest import ROOT

DEVICE = r'''
import asyncio, sys, time
from rill.sim import machine
from rill.timesync import TimeSync, is_set
from rill.clock import VirtualClock
from rill import Pipeline, Ring
from rill.mqtt import Bridge

port, ntp, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mq = Bridge("127.0.0.1", device="node", port=port, seq=None, backoff_ms=(50, 200, 0), outbox=128,
            tls={"cafile": cafile, "server_hostname": "localhost"})
ts = TimeSync(machine, "127.0.0.1", ntp, timeout_ms=200, backoff_ms=100, backoff_max_ms=300)
n = [0]


def read():
    n[0] += 1
    return n[0]


p = Pipeline("boot")
p.record("t", int, Ring(4))
p.source("t", read, every_ms=1000)
p.record("clock", TimeSync.SHAPE)
p.source("clock", task=ts.run)
mq.publish("t", "s/{device}/t", qos=1)
mq.attach(p)
g = p.build()
clock = VirtualClock()


async def main():
    asyncio.create_task(g.run(clock))
    for _ in range(60):  # 60 s of virtual time, with no network
        await clock.advance(1000)
        await asyncio.sleep_ms(5)
    print("BUFFERED", n[0], mq.outbox.pending(), mq.connects, int(is_set()))
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 30000:
        print("STATE", int(is_set()), mq.connects, mq.outbox.pending(), mq.error)
        if mq.connects and not mq.outbox.pending():
            break
        await asyncio.sleep_ms(100)
    print("DONE", ts.syncs, ts.failures, ts.status)


asyncio.run(main())
'''


class Sntp:
    """A one-socket SNTP server on loopback: the host's time, as a time server gives it."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.running = True
        self.answered = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(data) < 48:
                continue
            now = time.time() + 2208988800
            secs, frac = int(now), int((now % 1) * 2 ** 32)
            origin = struct.unpack(">II", data[40:48])  # the client's transmit time
            reply = struct.pack(">BBbb11I", 0x24, 1, 0, -20, 0, 0, 0, secs, 0, *origin, secs, frac, secs, frac)
            self.sock.sendto(reply, addr)
            self.answered += 1

    def close(self):
        self.running = False
        self.sock.close()


def test_boot_without_network_buffers_and_tls_waits_for_the_clock(tmp_path):
    folder = str(tmp_path)
    with open(os.path.join(folder, "device.py"), "w") as f:
        f.write(DEVICE)
    plain, ntp = free_port(), free_port()
    broker = Broker(tls=True, mosquitto_conf=["listener %d 127.0.0.1" % plain])
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib"), VBOARD_RTC=os.path.join(folder, "rtc"))
    dev = subprocess.Popen([board_micropython(), "device.py", str(broker.port), str(ntp), broker.cafile], cwd=folder,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sntp = client = None
    try:
        lines = iter(dev.stdout.readline, "")
        said = next(ln for ln in lines if ln.startswith(("BUFFERED", "Traceback"))).split()
        assert said == ["BUFFERED", "60", "60", "0", "0"], said  # 60 readings waiting, no connect, no clock
        broker.start()
        client = Client(plain, "watch")
        client.subscribe("s/#")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:  # the broker is up, the clock is not: no connect
            ln = next(lines)
            assert ln.startswith("STATE 0 0 60 "), ln
        assert "the board's clock is not set" in ln, ln
        with open(broker.log) as f:
            assert "node" not in f.read()  # the broker never saw the device
        sntp = Sntp(ntp)
        rest = [ln for ln in lines]
        assert rest[-1].startswith("DONE 1 "), rest[-3:]
        assert rest[-2].startswith("STATE 1 1 0"), rest[-3:]
        got = []
        while True:
            msg = client.receive(2.0)
            if msg is None:
                break
            got.append(json.loads(msg.payload)["v"])
        assert sorted(got) == list(range(1, 61)), got  # every buffered reading, delivered
        assert sntp.answered >= 1
    finally:
        dev.kill()
        dev.wait()
        if sntp:
            sntp.close()
        if client:
            client.close()
        broker.close()
