#!/usr/bin/env python3
"""The MQTT soak heap (issue 17 item 3): the smallest ``-X heapsize`` (KB, bisected to
1 KB) at which a Bridge publishing one QoS 1 record every 50 ms to a real mosquitto runs
``--seconds`` with a broker restart in the middle, with no MemoryError anywhere: none
raised or printed, none counted by the bridge, none dead-lettered; and it reconnected
(``connects`` >= 2), ends ``online`` and had messages acknowledged.

    python -m rill_host.bench.soak [--seconds 20]   # last stdout line: one JSON object

``mqtt_soak_min_heap_kb_64bit``: the project's MicroPython (.venv/bin/micropython) with
the library as .mpy for ``-march=x64``; ``mqtt_soak_min_heap_kb_32bit``: the 32-bit
unix port (tools/rill_host/bench/heap32.py's binary) with ``-march=x86``. The script is
tools/rill_host/bench/mp/soak_mp.py, compiled to .mpy as well. All probes of a round run at once against
one broker, restarted for all of them halfway through.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from rill_host.bench import MP as TOOLS
from rill_host.bench.heap32 import micropython32
from rill_host.build.mpy import build_mpy, compile_file  # the one build step
from rill_host.common import CliError, Parser, micropython_exe
from rill_host.mqtt_host import Broker, stop_group

TOP_KB, LOW_KB, PROBES = 256, 16, 3


def verdict(text):
    """(ok, why) from one probe's output."""
    if "MemoryError" in text:
        return False, "MemoryError"
    lines = [ln for ln in text.splitlines() if ln.startswith("soak ")]
    if not lines:
        return False, (text.strip().splitlines() or ["no output"])[-1][-200:]
    f = dict(kv.split("=") for kv in lines[-1].split()[1:])
    ok = f["mem"] == "0" and int(f["connects"]) >= 2 and f["state"] == "online" and int(f["acked"]) > 0
    return ok, lines[-1]


def round_(broker, runs, seconds):
    """Start every (exe, mpy, kb, tag) of ``runs`` at once, restart the broker halfway;
    {tag: (ok, why)}. They run in a folder of their own (the bridge's .rill/ state), so no
    probe starts with a spill log or sequence file a run before it left behind."""
    with tempfile.TemporaryDirectory() as cwd:
        return _round(broker, runs, seconds, cwd)


def _round(broker, runs, seconds, cwd):
    procs = {}
    for exe, mpy, kb, tag in runs:
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.abspath(mpy), SOAK_PORT=str(broker.port),
                   SOAK_SECONDS=str(seconds), SOAK_TAG=tag)
        procs[tag] = subprocess.Popen([exe, "-X", "heapsize=%dK" % kb, "-c", "import soak"], env=env, cwd=cwd,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True)
    time.sleep(seconds / 2)
    broker.stop()
    time.sleep(2)
    broker.start()
    out = {}
    for tag, proc in procs.items():
        try:
            text, _ = proc.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            out[tag] = (False, "no report within %d s" % (seconds + 30))
            continue
        out[tag] = verdict(text.decode(errors="replace"))
    return out


def bisect_all(broker, targets, seconds):
    """{name: smallest KB or None} for every name: (exe, mpy) of ``targets``, bisected together."""
    state = {n: [LOW_KB, TOP_KB, False] for n in targets}  # lo fails (assumed), hi passes (checked), top checked
    points = {n: [TOP_KB] + [LOW_KB + (TOP_KB - LOW_KB) * i // (PROBES + 1) for i in range(1, PROBES)]
              for n in targets}
    result = {}
    while points:
        runs = [(targets[n][0], targets[n][1], kb, "%s-%d" % (n, kb)) for n, kbs in points.items() for kb in kbs]
        seen = round_(broker, runs, seconds)
        nxt = {}
        for n, kbs in points.items():
            lo, hi, top = state[n]
            if not top:
                state[n][2] = True
                if not seen["%s-%d" % (n, TOP_KB)][0]:
                    result[n] = None
                    continue
            for kb in kbs:
                if seen["%s-%d" % (n, kb)][0]:
                    hi = min(hi, kb)
                else:
                    lo = max(lo, kb)
            state[n][:2] = lo, hi
            if hi - lo <= 1:
                result[n] = hi
                continue
            nxt[n] = sorted(set(lo + max(1, (hi - lo) * i // (PROBES + 1)) for i in range(1, PROBES + 1)) - {hi})
        points = nxt
    return result


def main(argv=None):
    p = Parser(prog="python -m rill_host.bench.soak", description=__doc__.strip().splitlines()[0])
    p.add_argument("--seconds", type=int, default=20, help="how long each probe runs (default %(default)s)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        targets = {}
        for name, exe, arch in (("64bit", micropython_exe(), "x64"), ("32bit", micropython32(), "x86")):
            if exe:
                mpy = os.path.join(out, arch)
                build_mpy(mpy, arch)
                compile_file(os.path.join(TOOLS, "soak_mp.py"), os.path.join(mpy, "soak.mpy"), arch)
                targets[name] = (exe, mpy)
        broker = Broker(kind="mosquitto")
        try:
            broker.start()
            found = bisect_all(broker, targets, args.seconds)
        finally:
            broker.close()
    return {"mqtt_soak_min_heap_kb_%s" % n: found.get(n) for n in ("64bit", "32bit")}


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv[1:]), sort_keys=True))
    except (CliError, subprocess.TimeoutExpired) as e:
        sys.stderr.write("bench_soak: error: %s\n" % e)
        sys.exit(1)
