#!/usr/bin/env python3
"""OTA transfer figures for ``make bench`` (rill_host.bench.cli calls it).

The example app deployed with rill.ota (tools/rill_host/deploy/ota.py) on a virtual
board (the 32-bit MicroPython where there is one, at the board's heap) against a real
mosquitto; ``ROUNDS`` updates, alternating between two builds of the app, each sent as
``rill ota`` sends it (chunks of 1 KB, a window of 16, the board's status as the ack):

- ``ota_transfer_bytes_per_s``: the update's bytes over the time from the begin message
  to the board's "switching" (every file written to flash and checked), the median;
- ``ota_pipe_bytes_per_s``: the baseline, timed in the same run: the same bytes in the
  same 1 KB messages, through the same broker, to a bare umqtt.simple subscriber on the
  same MicroPython and heap that only writes them to a file (bench/mp/ota_pipe_mp.py):
  the link and the flash with no manifest, hash, check or flow control;
- ``ota_transfer_ratio``: the first over the second (rill.ota's share of that pipe);
- ``ota_update_bytes``: the size of the update (manifest and files).

Run alone: ``python -m rill_host.bench.ota [--rounds N]`` prints the JSON object.
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from rill_host.bench import MP
from rill_host.common import ROOT, CliError, Parser, board_micropython, cli, heap_scale, load_board, mpy_arch
from rill_host.deploy import ota
from rill_host.deploy.plan import FIRMWARE, App, plan, stage
from rill_host.mqtt_host import Broker, Client, stop_group
from rill_host.vboard.run import app_config, start_board

ROUNDS = 3
BOARD = "RPI_PICO_W"
DEVICE = "bench-ota"


def pipe_rate(exe, heap, lib, broker, data, folder):
    """Bytes/s of ``data`` in 1 KB messages, host -> broker -> bench/mp/ota_pipe_mp.py."""
    watch = Client(broker.port, "bench-ota-watch")
    watch.subscribe("bench/#", qos=0)
    env = dict(os.environ, MICROPYPATH=".frozen:" + lib)
    proc = subprocess.Popen([exe, "-X", "heapsize=" + heap, os.path.join(MP, "ota_pipe_mp.py"), str(broker.port),
                             str(len(data)), os.path.join(folder, "pipe.bin")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        m = watch.receive(15)
        if m is None or m.topic != "bench/ready":
            raise CliError("the baseline device did not start: %s" % proc.stdout.read1(2000).decode(errors="replace"))
        pub = Client(broker.port, "bench-ota-pub")
        t0 = time.monotonic()
        for off in range(0, len(data), ota.CHUNK):
            pub.publish("bench/pipe", b"D" + off.to_bytes(4, "big") + data[off:off + ota.CHUNK])
        while True:
            m = watch.receive(60)
            if m is None:
                raise CliError("the baseline device did not finish")
            if m.topic == "bench/done":
                break
        took = time.monotonic() - t0
        pub.close()
        return int(m.payload) / took
    finally:
        watch.close()
        proc.wait(10)


def app_copy(folder, name, extra):
    d = os.path.join(folder, name)
    os.makedirs(d)
    with open(os.path.join(FIRMWARE, "app.py")) as f, open(os.path.join(d, "app.py"), "w") as g:
        g.write(f.read() + extra)
    return App(d)


def run(rounds=ROUNDS):
    exe = board_micropython()
    arch = mpy_arch(exe)
    broker = Broker().start()
    proc = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "config.json")
            with open(config, "w") as f:
                json.dump(app_config(App(FIRMWARE), DEVICE, BOARD, broker.port, False), f)
            builds = [app_copy(tmp, "v%d" % i, "\nVERSION = %d\n" % i) for i in (1, 2)]
            fs = os.path.join(tmp, "fs")
            stage(fs, plan(builds[0], BOARD, arch, config=config, ota=True)
                  + ota.provision(tmp, DEVICE, tmp, (10, 1, 1, 300)))
            key = ota.read_key(ota.key_path(tmp, DEVICE))
            prepared = [ota.prepare(b, BOARD, arch, config) for b in builds]
            work = os.path.join(tmp, "work")
            os.makedirs(work)
            proc = start_board(BOARD, fs, work, exe=exe)[0]
            rates, pipes = [], []
            heap = "%dK" % round(load_board(BOARD)["heap_budget_kb"] * heap_scale(exe))  # the virtual board's
            lib = os.path.join(ROOT, "build", "deploy", arch, "lib")  # plan()'s .mpy, umqtt.simple among them
            for i in range(rounds):
                doc, birth, size, took = ota.update(prepared[(i + 1) % 2], DEVICE, "127.0.0.1", broker.port, key,
                                                    timeout=120)
                if doc.get("state") != "switching" or birth is None:
                    raise SystemExit("bench ota: update %d did not come back: %s" % (i, doc))
                rates.append(size / took)
                pipes.append(pipe_rate(exe, heap, lib, broker, prepared[0][1], tmp))
            shutil.rmtree(fs, ignore_errors=True)
    finally:
        if proc is not None:
            stop_group(proc)
        broker.close()
    rate, pipe = statistics.median(rates), statistics.median(pipes)
    return {"ota_transfer_bytes_per_s": round(rate), "ota_pipe_bytes_per_s": round(pipe),
            "ota_transfer_ratio": round(rate / pipe, 3), "ota_update_bytes": size}


def main(argv):
    p = Parser(prog="python -m rill_host.bench.ota", description="OTA transfer rate on the virtual board")
    p.add_argument("--rounds", type=int, default=ROUNDS)
    print(json.dumps(run(p.parse_args(argv).rounds), sort_keys=True))
    return 0


if __name__ == "__main__":
    cli(main, "bench ota")
