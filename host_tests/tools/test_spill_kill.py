"""Power cuts on the spill log (rill.mqtt.spill): a MicroPython process (the unix port, its
flash a folder) is killed with SIGKILL while it spills, again while it drains, then drains
to the end. Every record the log had written to flash before the first kill is delivered
(acknowledged by the drain, which plays the broker); none comes under two keys; resent ones
(a drain cut short) keep their key, for the consumer's de-duplication."""
import os
import signal
import subprocess
import time

import pytest

from tooltest import ROOT

DEVICE = r'''
import sys, time
from rill.mqtt import _prep
from rill.mqtt.outbox import Outbox
from rill.mqtt.seq import Sequence

T = b"o/k/x"
mode = sys.argv[1]
seq = Sequence("k.seq", block=100)
ob = Outbox(4, 256)
_prep("spill_log", ob, "k.spill", 64 * 1024)
if mode == "spill":
    n = 0
    while True:  # until killed: a record a millisecond, as fast as flash takes it
        log = ob.spill
        w = log.writes if not isinstance(log, tuple) else 0
        s = seq.next()
        ob.put(T, b'{"boot":%d,"seq":%d,"v":"%d-%d"}' % (seq.boot, s, seq.boot, s), 1)
        log = ob.spill
        if not isinstance(log, tuple) and log.writes > w:
            print("durable", seq.boot, s - 1)  # the batch before this record is on flash
        n += 1
        time.sleep_ms(1)
else:
    print("log", ob.spill.n if not isinstance(ob.spill, tuple) else 0)
    while True:
        mv = ob.region()
        if mv is None:
            break
        data = bytes(mv)
        ob.wrote(len(mv))
        i = 0
        while i < len(data):
            op, rem = data[i], data[i + 1]  # small packets: one length byte
            i += 2
            tl = data[i] << 8 | data[i + 1]
            j = i + 2 + tl
            ob.ack(data[j] << 8 | data[j + 1])
            print("ack", data[j + 2:i + rem].decode())
            i += rem
        time.sleep_ms(2)  # room for a kill mid-drain
    print("done")
'''


def micropython():
    from rill_host.common import micropython_exe

    return micropython_exe()


def start(exe, folder, mode):
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib"))
    return subprocess.Popen([exe, "device.py", mode], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lines_until(proc, stop, timeout=20):
    """The process's lines until ``stop(lines)`` says so (then SIGKILL) or it ends."""
    got = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        got.append(line.split())
        if stop is not None and stop(got):
            proc.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, got[-3:]
    proc.wait(10)
    return got


def test_kill_9_during_spill_and_during_drain_loses_nothing_on_flash(tmp_path):
    exe = micropython()
    if not exe:
        pytest.skip("no MicroPython unix port")
    folder = str(tmp_path)
    with open(os.path.join(folder, "device.py"), "w") as f:
        f.write(DEVICE)
    spill = lines_until(start(exe, folder, "spill"), lambda got: sum(1 for g in got if g[0] == "durable") >= 12)
    durable = [(int(g[1]), int(g[2])) for g in spill if g[0] == "durable"]
    assert durable and sorted(os.listdir(folder))[0].startswith("device"), os.listdir(folder)
    last = durable[-1][1]
    want = set("%d-%d" % (durable[0][0], s) for s in range(4, last + 1))  # the first 4 waited in RAM
    first = lines_until(start(exe, folder, "drain"), lambda got: sum(1 for g in got if g[0] == "ack") >= 60)
    assert int(first[0][1]) >= len(want), first[0]  # the log, as the next boot found it
    second = lines_until(start(exe, folder, "drain"), None)
    assert second[-1] == ["done"], second[-3:]
    acks = [g[1] for g in first + second if g[0] == "ack"]
    keys = {}
    for a in acks:
        env = eval(a, {"true": True, "false": False})  # the envelope, as JSON
        keys.setdefault(env["v"], set()).add((env["boot"], env["seq"]))
    print("durable %d, on flash at the first drain %s, acked %d then %d, resent %d" % (
        len(want), first[0][1], sum(1 for g in first if g[0] == "ack"), sum(1 for g in second if g[0] == "ack"),
        len(acks) - len(keys)))
    assert want <= set(keys), sorted(want - set(keys))[:5]  # nothing that reached flash was lost
    assert all(len(k) == 1 for k in keys.values())  # and nothing came back under another key
    assert len(acks) - len(keys) <= 60 + 4  # resent: at most what the cut-short drain had not released
    assert not [n for n in os.listdir(folder) if n.startswith("k.spill")]  # drained: the log is gone
