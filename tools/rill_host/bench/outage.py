#!/usr/bin/env python3
"""Issue 21's outage figures for ``make bench`` (rill_host.bench.cli calls it).

On the 32-bit MicroPython unix port where there is one (else the 64-bit one), with the
library as .mpy and a real mosquitto: 50 Hz QoS 1 for 20 s, the broker stopped at 7.5 s
and started again at 12.5 s (bench/mp/outage_mp.py runs the device; this script owns the
broker). ``ROUNDS`` rounds on a bridge's default settings (the spill log sized from the
free flash) and as many with RAM only (``spill=0``), in the same run:

- ``outage_delivered_ratio``: records that came back through the broker / records made
  (the worst round), and ``_ram_only`` beside it;
- ``reconnect_after_broker_return_ms``: from the broker accepting connections again to the
  bridge being online (median of the rounds), and ``_ram_only``;
- ``outage_peak_heap_bytes``: the device's peak live heap (gc.mem_alloc after a collection,
  every 20 ms; the largest round), and ``_ram_only``;
- ``outage_flash_bytes``: what the spill log wrote in a round (the largest).

Run alone: ``python -m rill_host.bench.outage [--rounds N]`` prints the JSON object.
"""
import json
import os
import statistics
import subprocess
import tempfile
import time

from rill_host.bench import MP
from rill_host.build.mpy import build_mpy
from rill_host.common import CliError, Parser, cli, micropython32_exe, micropython_exe
from rill_host.mqtt_host import Broker, find_mosquitto

ROUNDS = 3


def one(exe, mpy, broker, spill, folder):
    """One round: the device's JSON line, with ``reconnect_ms`` added."""
    path = os.path.join(folder, "bench21.spill")
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    env = dict(os.environ, MICROPYPATH=".frozen:" + mpy)
    proc = subprocess.Popen([exe, "-X", "heapsize=256K", os.path.join(MP, "outage_mp.py"), "127.0.0.1",
                             str(broker.port), spill, path], env=env, cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    back = result = None
    try:
        for line in proc.stdout:
            line = line.strip()
            if line == "stop":
                broker.stop()
            elif line == "start":
                broker.start()  # returns once it accepts connections
                back = time.time_ns()
            elif line.startswith("{"):
                result = json.loads(line)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        broker.start()
    if result is None:
        raise CliError("outage_mp.py (spill %s) failed: %s" % (spill, proc.stderr.read()[-500:]))
    online = result.get("online_ns")
    result["reconnect_ms"] = (online - back) / 1e6 if online and back else None
    return result


def figures(rounds=ROUNDS):
    if not find_mosquitto():
        return {"outage_skipped": "mosquitto is not installed: the outage figures need a real broker"}
    exe = micropython32_exe()[0] or micropython_exe()
    if not exe:
        return {"outage_skipped": "no MicroPython unix port"}
    out = {"outage_runtime": "micropython32" if exe == micropython32_exe()[0] else "micropython"}
    with tempfile.TemporaryDirectory() as mpy, tempfile.TemporaryDirectory() as folder:
        build_mpy(mpy, "x86" if out["outage_runtime"] == "micropython32" else "x64", deps=True)
        broker = Broker("mosquitto")
        try:
            broker.start()
            for spill, tag in (("default", ""), ("0", "_ram_only")):
                runs = [one(exe, mpy, broker, spill, folder) for _ in range(rounds)]
                out["outage_delivered_ratio" + tag] = min(r["delivered"] / r["records"] for r in runs)
                ms = [r["reconnect_ms"] for r in runs if r["reconnect_ms"] is not None]
                out["reconnect_after_broker_return_ms" + tag] = round(statistics.median(ms), 1) if ms else None
                out["outage_peak_heap_bytes" + tag] = max(r["peak_heap"] for r in runs)
                out["outage_duplicates" + tag] = max(r["duplicates"] for r in runs)
                out["outage_dropped" + tag] = max(r["dropped"] for r in runs)
                if not tag:
                    out["outage_flash_bytes"] = max(r["flash_written"] for r in runs)
                    out["outage_flash_writes"] = max(r["flash_writes"] for r in runs)
        finally:
            broker.close()
    return out


def main(argv):
    p = Parser(prog="python -m rill_host.bench.outage", description="Issue 21's outage figures (make bench).")
    p.add_argument("--rounds", type=int, default=ROUNDS, help="rounds per setting (default %(default)s)")
    args = p.parse_args(argv)
    print(json.dumps(figures(args.rounds), sort_keys=True))
    return 0


if __name__ == "__main__":
    cli(main)
