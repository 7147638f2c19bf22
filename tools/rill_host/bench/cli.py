#!/usr/bin/env python3
"""`make bench`: measure the core (and the MQTT connector) on the MicroPython unix port.

Every speed figure is a ratio against a baseline timed in the same run. Prints one JSON
object as its last line and writes it to bench/results.json.
"""
import json
import os
import subprocess
import sys
import tempfile

from rill_host import LIB
from rill_host.bench import MP as TOOLS
from rill_host.bench import page  # docs/benchmarks.md, from the results
from rill_host.build.mpy import build_mpy, compile_file  # the one build step
from rill_host.common import ROOT, CliError, Parser, cli, micropython_exe, need_micropython
from rill_host.mqtt_host import find_mosquitto

MICROPYTHON = micropython_exe() or "micropython"
CORE = ["rill", "rill.graph"]  # the package (buffers, declaration, wake-ups) and the built graph (real clock)
ON_DEMAND = ["rill.queues", "rill.describe", "rill.backoff"]  # loaded by the first Queue, stats() or retrying source
HEAP = "256K"


BenchError = CliError


def micropython(script, args=(), path=(), heap=HEAP, timeout=600):
    env = dict(os.environ, MICROPYPATH=":".join([".frozen"] + list(path)))
    cmd = [MICROPYTHON, "-X", "heapsize=" + heap, script] + list(args)
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError("%s failed:\n%s%s" % (os.path.basename(script), proc.stdout, proc.stderr))
    return proc.stdout.strip().splitlines()[-1]


def build_lib(out):
    """The library and the pinned dependencies (umqtt.simple, the MQTT baseline) as .mpy."""
    build_mpy(out, "x64", deps=True)


def core_dispatch(mpy):
    """The fast dispatch of tools/rill_host/bench/mp/bench_core_mp.py's pipelines as a deployed app gets it:
    written on the host (rill.codegen), compiled by mpy-cross -march=x64 into ``mpy``."""
    with tempfile.TemporaryDirectory() as src:
        script = "import sys, runpy, rill; sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')"
        proc = subprocess.run([sys.executable, "-c", script, os.path.join(TOOLS, "bench_core_mp.py"), "--dispatch",
                               src], cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=LIB + os.pathsep + TOOLS))
        if proc.returncode != 0:
            raise BenchError("bench_core_mp.py --dispatch failed:\n%s%s" % (proc.stdout, proc.stderr))
        for name in sorted(os.listdir(src)):
            compile_file(name, os.path.join(mpy, name[:-3] + ".mpy"), "x64", cwd=src)


def small_heap(mpy, exe=None, arch="x64", start=32, stop=64):
    """Compile tools/rill_host/bench/mp/small_heap_mp.py as .mpy too (as on a board) into ``mpy`` (rill's
    .mpy for ``arch``) and run it on ``exe`` (default: the 64-bit port) in heaps from
    ``start`` KB up, 1 KB at a time: the smallest heap (KB) it runs in, or None up to ``stop``."""
    compile_file("small_heap_mp.py", os.path.join(mpy, "small_heap.mpy"), arch, cwd=TOOLS)
    env = dict(os.environ, MICROPYPATH=".frozen:")  # run in ``mpy``: short module paths, as on a board (/lib/...)
    for kb in range(start, stop + 1):
        proc = subprocess.run([exe or MICROPYTHON, "-X", "heapsize=%dK" % kb, "-c", "import small_heap"], env=env,
                              cwd=mpy, capture_output=True, text=True, timeout=60)
        if proc.stdout.strip() == "ok":
            return kb
    return None


def small_heap_32bit():
    """``small_heap`` on the 32-bit port (tools/rill_host/common.py finds it; rill built for x86),
    from 16 KB up; None without that port."""
    from rill_host.common import micropython32_exe

    exe = micropython32_exe()[0]
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as mpy:
        build_mpy(mpy, "x86")
        return small_heap(mpy, exe, "x86", start=16, stop=48)


def heap_cost(mpy, modules, after=()):
    args = (["--after", ",".join(after)] if after else []) + list(modules)
    return int(micropython(os.path.join(TOOLS, "heap_cost_mp.py"), args, [mpy], heap="256K"))


def host_json(script, timeout=900):
    """Run a host-side bench (rill_host.bench.<script>) with this Python; the JSON object of its last line."""
    proc = subprocess.run([sys.executable, "-m", "rill_host.bench." + script], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise BenchError("%s failed:\n%s%s" % (script, proc.stdout, proc.stderr))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    Parser(prog="rill bench", description=__doc__.strip().splitlines()[0]).parse_args(argv)
    need_micropython()
    results = {"runtime": "micropython unix port"}
    with tempfile.TemporaryDirectory() as mpy:
        build_lib(mpy)
        core_dispatch(mpy)
        results.update(json.loads(micropython(os.path.join(TOOLS, "bench_core_mp.py"), path=[mpy])))
        results["core_import_bytes"] = heap_cost(mpy, CORE)
        # the core must import, build and run a 3-stage pipeline in a 32 KB heap
        results["min_heap_kb"] = small_heap(mpy, start=24)
        results["runs_in_32k_heap"] = results["min_heap_kb"] is not None and results["min_heap_kb"] <= 32
        results["min_heap_kb_32bit"] = small_heap_32bit()  # None: no 32-bit port here
        modules = {}
        for name in sorted(os.listdir(mpy + "/rill/drivers")) if os.path.isdir(mpy + "/rill/drivers") else []:
            if name.endswith(".mpy") and name != "__init__.mpy":
                mod = "rill.drivers." + name[:-4]
                modules[mod] = heap_cost(mpy, [mod], after=CORE)
        for mod in ON_DEMAND:
            modules[mod] = heap_cost(mpy, [mod], after=CORE)
        if os.path.isdir(mpy + "/rill/mqtt"):
            modules["rill.mqtt"] = heap_cost(mpy, ["rill.mqtt"], after=CORE)
            modules["rill.mqtt.discovery"] = heap_cost(mpy, ["rill.mqtt.discovery"], after=CORE + ["rill.mqtt"])
            for mod in ("rill.sleep", "rill.timesync"):  # field operations (issue 20): only apps that use them
                modules[mod] = heap_cost(mpy, [mod], after=CORE + ["rill.mqtt"])
        # the first-configuration page: loaded by rill.wifi only on a board without credentials
        modules["rill.portal"] = heap_cost(mpy, ["rill.portal"], after=CORE + ["rill.wifi"])
        results["module_import_bytes_beyond_core"] = modules
        # filters: cost per record vs inline code (tools/rill_host/bench/mp/bench_filters_mp.py), heap per module
        results.update(json.loads(micropython(os.path.join(TOOLS, "bench_filters_mp.py"), path=[mpy])))
        results["filters_import_bytes_beyond_core"] = {
            m[:-4]: heap_cost(mpy, ["rill.filters." + m[:-4]], after=CORE + ["rill.filters"])
            for m in sorted(os.listdir(mpy + "/rill/filters")) if m.endswith(".mpy") and m != "__init__.mpy"}
        results["filters_import_bytes_beyond_core"]["__init__"] = heap_cost(mpy, ["rill.filters"], after=CORE)
        # the recorder: cost per record vs the same pipeline without it (bench/mp/bench_io_mp.py), and its heap
        results.update(json.loads(micropython(os.path.join(TOOLS, "bench_io_mp.py"), path=[mpy])))
        results["recorder_import_bytes_beyond_core"] = heap_cost(mpy, ["rill.io.recorder", "rill.io.sink"], after=CORE)
        # the status record: one publish vs publishing g.stats() (bench/mp/bench_status_mp.py), and its heap
        results.update(json.loads(micropython(os.path.join(TOOLS, "bench_status_mp.py"), path=[mpy])))
        results["status_import_bytes_beyond_core"] = heap_cost(mpy, ["rill.status"], after=CORE)
        results["identity_import_bytes_beyond_core"] = heap_cost(mpy, ["rill.identity"], after=CORE)
    if not find_mosquitto():
        results["mqtt_skipped"] = "mosquitto is not installed (apt-get install mosquitto): the MQTT figures need it"
    else:
        results.update(host_json("mqtt"))
        results.update(host_json("gateway"))  # the gateway (CPython) against a bare paho subscriber
        results.update(host_json("outage"))  # issue 21's outage: spill log vs RAM only (32-bit port)
        results.update(host_json("ota"))  # OTA updates: the transfer rate on the virtual board vs the broker pipe
    os.makedirs(os.path.join(ROOT, "bench"), exist_ok=True)
    try:  # the heap figures on the 32-bit MicroPython (bench/heap32.py; it writes build/heap_figures.json)
        results.update(host_json("heap32"))
    except BenchError as e:
        results["heap32_skipped"] = str(e)
    line = json.dumps(results, sort_keys=True)
    with open(os.path.join(ROOT, "bench", "results.json"), "w") as f:
        f.write(line + "\n")
    page.write(results)  # docs/benchmarks.md's figures
    print(line)


if __name__ == "__main__":
    cli(main, "rill bench")
