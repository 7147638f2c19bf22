"""kill -9 of the virtual board a user runs (`rill vboard`, its pid only) while its app spills
to flash and again while it drains, each time started again on the same filesystem: the
MicroPython agent dies with it (no orphan still writing the log), every record the log
had on flash before the first kill reaches the broker, and no reading comes under two
keys. test_spill_kill.py does the same to a bare MicroPython process; this is the board."""
import json
import os
import signal
import time

from test_vboard_hygiene import _alive, _children
from tooltest import VBoard

MAIN = """
import asyncio
from rill import Pipeline, Ring
from rill.mqtt import Bridge

host, port = open("k9.cfg").read().split()
p = Pipeline("k9")
p.record("x", float, Ring(32))
p.source("x")
mq = Bridge(host, "k9", int(port), outbox=4, spill=64 * 1024, backoff_ms=(100, 200))
mq.publish("x", "o/k9/x", qos=1)
mq.attach(p)
g = p.build()
boot = mq.seq.boot


async def main():
    asyncio.create_task(g.run())
    i = w = 0
    while True:
        g.push("x", boot * 100000 + i)  # a reading that says which boot made it
        i += 1
        log = mq.outbox.spill
        if log is not None and not isinstance(log, tuple) and log.writes != w:
            w = log.writes
            print("durable", boot, log.spilled - log.bn)  # spilled records on flash so far
        if log is not None and not isinstance(log, tuple) and i % 10 == 0:
            print("log", log.n)  # records in the log, not yet in RAM
        await asyncio.sleep_ms(2)

asyncio.run(main())
"""


def wait(cond, what, timeout=30):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.01)


def kill_9(b):
    """SIGKILL to `rill vboard` alone (not its group, as `kill -9 PID` does): its agent
    must go with it, and the spill log must stop changing."""
    kids = _children(b.proc.pid)
    assert kids, "no MicroPython agent under rill vboard"
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(5)
    wait(lambda: not any(_alive(k) for k in kids), "the agent to die with rill vboard", 5)
    before = log_files(b)
    time.sleep(0.3)
    assert log_files(b) == before, "the spill log still changes: an orphan writes it"


def log_files(b):
    folder = os.path.join(b.fs, ".rill")
    names = sorted(n for n in os.listdir(folder) if n.startswith("k9.spill.")) if os.path.isdir(folder) else []
    return [(n, os.stat(os.path.join(folder, n)).st_size) for n in names]


def draining(console, n):
    """The app's log holds fewer than ``n - 100`` records (a drain under way) but not none."""
    left = [int(line.split()[1]) for line in console.splitlines() if line.startswith("log ")]
    return bool(left) and 0 < left[-1] < n - 100


def readings(broker):
    """(boot, seq, value) of every message the host has seen on o/k9/x."""
    return [(e["boot"], e["seq"], int(e["v"])) for e in map(json.loads, broker.seen(0))]


def test_kill_9_of_rill_vboard_mid_spill_and_mid_drain_loses_nothing_on_flash(tmp_path, broker):
    b = VBoard(tmp_path / "k9", "RPI_PICO_W")
    os.makedirs(b.fs, exist_ok=True)
    with open(os.path.join(b.fs, "main.py"), "w") as f:
        f.write(MAIN)
    with open(os.path.join(b.fs, "k9.cfg"), "w") as f:
        f.write("%s %d" % (broker.host, broker.port))
    broker.stop()  # the outage: the app spills
    try:
        b.start()
        wait(lambda: b.console().count("durable") >= 12, "the app to spill 12 batches:\n" + b.console()[-2000:])
        kill_9(b)  # mid-spill
        durable = [line.split()[1:] for line in b.console().splitlines() if line.startswith("durable")]
        boot1, count = int(durable[-1][0]), int(durable[-1][1])
        want = set(boot1 * 100000 + i for i in range(4, 4 + count))  # the first 4 waited in RAM, lost with it
        assert log_files(b), "nothing on flash"

        broker.start()
        broker.watch("o/k9/x")
        mark = len(b.console())
        b.start()  # the next boot drains the log
        wait(lambda: draining(b.console()[mark:], len(want)), "the drain to start")
        kill_9(b)  # mid-drain
        first = sum(1 for r in readings(broker) if r[0] == boot1)
        assert first < len(want) and log_files(b), (first, len(want))  # the kill came before the drain ended

        b.start()
        wait(lambda: want <= set(r[2] for r in readings(broker)) and not log_files(b),
             "every durable reading and an empty log")
    finally:
        b.stop()
    got = readings(broker)
    keys = {}
    for boot, seq, v in got:
        keys.setdefault(v, set()).add((boot, seq))
    print("vboard kill -9: %d durable at the first kill, %d delivered before the second, %d messages, %d resent"
          % (len(want), first, len(got), len(got) - len(keys)))
    assert want <= set(keys), sorted(want - set(keys))[:5]  # nothing on flash was lost
    assert all(len(k) == 1 for k in keys.values()), [k for k in keys.values() if len(k) > 1][:3]
