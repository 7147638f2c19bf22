"""Deep-sleep duty cycles (rill.sleep) on the simulated machine (rill.sim.power): each wake
is a new MicroPython process (the 32-bit port when there is one), the RTC domain a file
that outlives it, the clock advanced by each sleep. 100 cycles against a real mosquitto,
stopped for cycles 40-69: no (boot, seq) key is used by two readings, the boot counter
never advances on a wake, and every reading is delivered or counted as dropped. Prints
the awake milliseconds per cycle (the board's own count, from the start of main) and the
flash writes per cycle."""
import json
import os
import subprocess

import pytest

from rill_host.common import board_micropython
from rill_host.mqtt_host import Broker, Client
from tooltest import ROOT

DEVICE = r'''
import asyncio, sys
from rill.sim import machine
from rill.sleep import DutyCycle

dc = DutyCycle(machine, "node.sleep", rtc=sys.argv[2] == "rtc", max_awake_ms=1500)
from rill import Pipeline, Ring
from rill.mqtt import Bridge

mq = Bridge("127.0.0.1", device="node", port=int(sys.argv[1]), seq=dc.sequence("node.seq", block=50),
            spill_path="node.spill", backoff_ms=(50, 200, 0))
dc.restore(mq)
cycle = dc.cycles
p = Pipeline("duty")
p.record("t", int, Ring(4))
p.source("t", lambda: cycle, every_ms=60000)
mq.publish("t", "s/{device}/t", qos=1)
mq.attach(p)
g = p.build()
try:
    asyncio.run(dc.run(g, mq))
finally:
    print("CYCLE", dc.cycles, "woke", int(dc.woke), "awake", dc.saved[2], "kept", dc.saved[0], "dropped",
          dc.saved[1], "writes", dc.flash_writes, "slept", machine.slept_ms())
'''


def run_cycles(tmp_path, mode, n, down):
    exe = board_micropython()
    folder = str(tmp_path)
    with open(os.path.join(folder, "device.py"), "w") as f:
        f.write(DEVICE)
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib"),
               VBOARD_RTC=os.path.join(folder, "rtc.bin"))
    broker = Broker()
    broker.start()
    got, lines = [], []
    try:
        client = Client(broker.port, "watch")
        client.subscribe("s/#")
        for c in range(n):
            if c == down[0]:
                client.close()
                broker.stop()
            if c == down[1]:
                broker.start()
                client = Client(broker.port, "watch")
                client.subscribe("s/#")
            out = subprocess.run([exe, "device.py", str(broker.port), mode], cwd=folder, env=env,
                                 capture_output=True, text=True, timeout=30)
            said = [ln.split() for ln in out.stdout.splitlines() if ln.startswith("CYCLE")]
            assert said and out.returncode == 0, out.stdout[-500:] + out.stderr[-500:]
            lines.append(dict(zip(said[-1][2::2], map(int, said[-1][3::2])), cycle=int(said[-1][1])))
            while client is not None and not (down[0] <= c < down[1]):
                msg = client.receive(0.05)
                if msg is None:
                    break
                got.append(json.loads(msg.payload))
        client.close()
    finally:
        broker.close()
    return got, lines


@pytest.mark.parametrize("mode", ["rtc", "file"])
def test_100_deep_sleep_cycles_broker_down_for_30(tmp_path, mode):
    n, down = (100, (40, 70)) if mode == "rtc" else (40, (10, 25))
    got, lines = run_cycles(tmp_path, mode, n, down)
    keys = {}
    for env in got:
        keys.setdefault((env["boot"], env["seq"]), set()).add(env["v"])
    assert all(len(v) == 1 for v in keys.values()), [k for k, v in keys.items() if len(v) > 1]  # 0 reused
    assert len({env["boot"] for env in got}) == 1  # a wake is not a boot
    assert [ln["woke"] for ln in lines] == [0] + [1] * (n - 1)
    assert [ln["cycle"] for ln in lines] == list(range(n))
    delivered = {env["v"] for env in got}
    dropped = lines[-1]["dropped"] + lines[-1]["kept"]  # kept: still waiting in the RTC domain
    assert len(delivered) + dropped == n and len(delivered) >= n - dropped, (sorted(delivered), dropped)
    assert delivered >= set(range(down[0])) | set(range(down[1], n))  # before and after: all of it
    assert lines[-1]["slept"] >= 60000 * (n - 1) - sum(ln["awake"] for ln in lines)  # the clock advanced
    up = [ln for i, ln in enumerate(lines) if not (down[0] <= i < down[1])]
    awake = sorted(ln["awake"] for ln in up)
    writes = sum(ln["writes"] for ln in lines[1:]) / (n - 1)
    print("\n%s: %d cycles, %d delivered (%d duplicates), %d dropped; awake ms per cycle (broker up): median %d, "
          "max %d; broker down: median %d; flash writes per cycle %.2f" % (
              mode, n, len(delivered), len(got) - len(keys), dropped, awake[len(awake) // 2], awake[-1],
              sorted(ln["awake"] for ln in lines[down[0]:down[1]])[(down[1] - down[0]) // 2], writes))
    if mode == "rtc":
        assert dropped == 0
        assert writes <= 0.1  # the sequence's reservations only: one per 50 numbers
