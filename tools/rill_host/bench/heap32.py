#!/usr/bin/env python3
"""Heap figures on the 32-bit MicroPython (issue 16 item 5): the smallest heap each app
needs, and the import cost of the core and of rill.mqtt.

    python -m rill_host.bench.heap32 [--seconds 30] [--only example:ESP32_GENERIC,...]
                                                  # last stdout line: one JSON object

``app_min_heap_kb_32bit`` {board: {example, scaffold}}: the smallest ``-X heapsize``
(KB, bisected to 1 KB) at which the app, deployed as a board gets it (tools/rill_host/deploy/plan.py:
the .mpy files for ``-march=x86``, main.py, config.json pointed at a real mosquitto on a
free loopback port, the board file), runs ``--seconds`` with no MemoryError anywhere:
none raised or printed, none dead-lettered, none counted by the bridge, the app's task
still alive and, on a networked board, the bridge connected (tools/rill_host/bench/mp/heap32_mp.py runs
the board's main.py and checks). ``example`` is firmware/app.py (networked boards only:
it publishes over MQTT), ``scaffold`` a `rill new` project. The probes of all apps run
at once (they mostly sleep), a few per app per round. The simulator (rill.sim) stands for
what a board has in ROM, its ``machine`` and its chips: the probes run on the unix32
firmware with rill frozen into it (tools/rill_host/build/firmware.py) and take only rill.sim from the
firmware, everything else from the deployed .mpy files (heap32_mp.py reports which rill
modules came from the firmware, and a probe that took any other fails the bench);
``app_min_heap_sim`` says "frozen". Where that firmware cannot be built, the simulator
loads as .mpy too ("mpy", with ``app_sim_frozen_skipped`` saying why).
``app_min_heap_kb_32bit_sim_mpy``: the ESP32_GENERIC apps with the simulator as .mpy files,
as this bench measured them before.

``app_min_heap_kb_frozen``: the same for the example app and a project on ESP32_GENERIC and a
project on RPI_PICO, on the 32-bit unix firmware with rill and the app frozen into it by
MicroPython's own manifest tooling (tools/rill_host/build/firmware.py, ``rill firmware --target unix32``):
what a board whose firmware freezes them needs (``--no-frozen`` leaves it out).

``core_import_bytes_32bit``, ``mqtt_import_bytes_32bit`` (rill.mqtt beyond the core) and
``ota_import_bytes_32bit``: rill.ota's cost on a board provisioned for OTA (``ota_cost``).
``module_import_bytes_32bit`` (each on-demand module beyond the core, measured with room in
the interned-name pool: its own code, data and names, not the 2 KB pool table whichever
module crosses a boundary pays for, so the figures add up): tools/rill_host/bench/mp/heap_cost_mp.py
on the same binary and .mpy files; ``sim_frozen_import_bytes_32bit`` the simulator's
heap when frozen (what the app figures hold of it). ``mqtt_soak_min_heap_kb_64bit``/``_32bit``: the MQTT
soak with a broker restart (bench/soak.py), in a full run. A full run writes build/heap_figures.json, the
figures tools/rill_host/build/heap_budget.py estimates an app's heap from (commit it).

The binary: $RILL_MICROPYTHON32, else ../shared/micropython/micropython32 beside the
checkout. Without one it reports why instead of figures.
"""
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from rill_host.bench import MP as TOOLS
from rill_host.build.heap_budget import FIGURES
from rill_host.build.mpy import build_mpy, compile_file  # the one build step
from rill_host.common import BOARDS, ROOT, CliError, Parser, micropython32_exe
from rill_host.deploy.plan import FIRMWARE, App, plan, stage
from rill_host.mqtt_host import Broker, stop_group

ARCH = "x86"
CORE = ["rill", "rill.graph"]  # as tools/rill_host/bench/cli.py
TOP_KB, LOW_KB = 320, 8
PROBES = 3  # per app per round: the interval shrinks 4x a round
# app_min_heap_kb_frozen: the apps measured frozen too
FROZEN = {("example", "ESP32_GENERIC"), ("scaffold", "ESP32_GENERIC"), ("scaffold", "RPI_PICO")}
# app_min_heap_kb_32bit_sim_mpy: these measured with the simulator as .mpy files too
SIM_MPY = {("example", "ESP32_GENERIC"), ("scaffold", "ESP32_GENERIC")}
BenchError = CliError


def micropython32():
    """The 32-bit unix port's path, or None (tools/rill_host/common.py finds it, as for rill test)."""
    return micropython32_exe()[0]


def boards():
    found = {}
    for b in sorted(os.listdir(BOARDS)):
        path = os.path.join(BOARDS, b, "board.json")
        if os.path.exists(path):
            with open(path) as f:
                found[b] = json.load(f)
    return found


def scaffold(folder, board, port):
    """A new project for ``board`` whose config names the bench's own broker (``port``), so
    nothing built from it (its frozen firmware too) reaches for a broker on 1883."""
    from rill_host.scaffold import create

    create(folder, board)
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["mqtt"].update(host="127.0.0.1", port=port)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return App(folder)


def deploy(out, kind, board, port):
    """The app ``kind`` deployed for ``board`` into ``out``/fs (heap32.mpy beside it); the fs path."""
    app = App(FIRMWARE) if kind == "example" else scaffold(os.path.join(out, "project-" + board), board, port)
    fs = os.path.join(out, "fs-%s-%s" % (kind, board))
    stage(fs, plan(app, board, ARCH, out=os.path.join(out, "build")))
    compile_file(os.path.join(TOOLS, "heap32_mp.py"), os.path.join(fs, "heap32.mpy"), ARCH)
    if kind == "example":
        cfg = {"board": board, "topic_root": "rill", "console": False,
               "mqtt": {"host": "127.0.0.1", "port": port, "keepalive": 10}}
    else:
        with open(os.path.join(fs, "config.json")) as f:
            cfg = json.load(f)
        cfg["mqtt"].update(host="127.0.0.1", port=port)
    with open(os.path.join(fs, "config.json"), "w") as f:
        json.dump(cfg, f)
    return fs


def probe(exe, fs, kb, net, seconds, device, mode="mpy"):
    """(ok, why) for one run of the app in ``fs`` at ``kb`` KB of heap. ``mode``: "mpy" (nothing
    of rill frozen in ``exe``), "sim-frozen" (``exe`` has rill frozen: only rill.sim is taken
    from it) or "frozen" (the app's firmware: rill and the app frozen)."""
    with tempfile.TemporaryDirectory() as cwd:  # config.json, the bridge's sequence files
        with open(os.path.join(fs, "config.json")) as f:
            cfg = json.load(f)
        cfg["device"] = device
        with open(os.path.join(cwd, "config.json"), "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, MICROPYPATH="%s:%s:.frozen" % (fs, os.path.join(fs, "lib")), RILL_ROOT=fs,
                   HEAP32_MAIN=os.path.join(fs, "main.py"), HEAP32_SECONDS=str(seconds), HEAP32_NET="1" if net else "0",
                   HEAP32_SIM="frozen" if mode == "sim-frozen" else "mpy")
        proc = subprocess.Popen([exe, "-X", "heapsize=%dK" % kb, "-c", "import heap32"], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            return False, "no report within %d s" % (seconds + 30)
    text = out.decode(errors="replace")
    report = [ln for ln in text.splitlines() if ln.startswith("heap32 ")]
    if "MemoryError" in text:
        return False, "MemoryError"
    if not report:
        return False, (text.strip().splitlines() or ["no output"])[-1][-200:]
    try:
        f = dict(kv.split("=") for kv in report[-1].split()[1:])
    except ValueError:  # cut short: even the report's few bytes were not there
        return False, "an incomplete report: " + report[-1][-200:]
    if f["alive"] != "1" or f["dead_mem"] != "0" or f["bridge_mem"] != "0" or (net and f["connects"] == "0"):
        return False, report[-1]
    frozen = [m for m in f["frozen"].split(",") if m != "-"]
    if mode != "frozen" and [m for m in frozen if mode == "mpy" or m.split(".")[:2] != ["rill", "sim"]]:
        raise BenchError("%s: rill modules came from the firmware, not the deployed .mpy files: %s"
                         % (mode, f["frozen"]))
    return True, report[-1]


def bisect(exe, fs, net, seconds, tag, pool, mode="mpy"):
    """The smallest heap (KB) that passes, to 1 KB; None if TOP_KB fails. PROBES probes a round."""
    lo, hi = LOW_KB, TOP_KB  # lo: assumed to fail; hi: checked in the first round
    points = [hi] + [lo + (hi - lo) * i // (PROBES + 1) for i in range(1, PROBES)]
    checked_top = False
    while True:
        points = sorted(set(p for p in points if lo < p <= hi))
        if not points:
            break
        runs = {kb: pool.submit(probe, exe, fs, kb, net, seconds, "h32-%s-%d" % (tag, kb), mode) for kb in points}
        ok = {kb: f.result()[0] for kb, f in runs.items()}
        if not checked_top:
            checked_top = True
            if not ok[hi]:
                return None
        for kb in points:
            if ok[kb]:
                hi = min(hi, kb)
            else:
                lo = max(lo, kb)
        if hi - lo <= 1:
            break
        points = [lo + max(1, (hi - lo) * i // (PROBES + 1)) for i in range(1, PROBES + 1)]
    return hi


def heap_cost(exe, mpy, modules, after=(), room=False):
    """Heap bytes importing ``modules`` costs after ``after`` (tools/rill_host/bench/mp/heap_cost_mp.py); ``room``:
    with an interned-name pool grown first, so no module pays for a pool table."""
    args = (["--after", ",".join(after)] if after else []) + (["--grow-names"] if room else []) + list(modules)
    env = dict(os.environ, MICROPYPATH=".frozen:" + mpy)
    proc = subprocess.run([exe, "-X", "heapsize=256K", os.path.join(TOOLS, "heap_cost_mp.py")] + args, env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise BenchError("heap_cost_mp.py %s: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()[-300:]))
    return int(proc.stdout.strip().splitlines()[-1])


def library_modules():
    """Every library module an app may load on a board (not the CPython shim, not the simulator)."""
    from rill_host.build.packages import all_modules

    return sorted(m for m in all_modules() if m not in CORE and m != "rill.cpython_compat"
                  and not m.startswith("rill.sim"))


def imports(exe, mpy):
    """The import figures of the docstring, in bytes: each module beyond the core (rill.mqtt.*
    beyond rill.mqtt too), the simulator's hardware beyond the core and rill.board (which an
    app's figure counts among its modules)."""
    out = {"core_import_bytes_32bit": heap_cost(exe, mpy, CORE),
           "mqtt_import_bytes_32bit": heap_cost(exe, mpy, ["rill.mqtt"], after=CORE)}
    mods = {}
    for mod in library_modules():
        after = CORE + (["rill.mqtt"] if mod.startswith("rill.mqtt.") else [])
        mods[mod] = max(0, heap_cost(exe, mpy, [mod], after=after, room=True))
    out["module_import_bytes_32bit"] = mods
    out["ota_import_bytes_32bit"] = ota_cost(exe, mpy)
    out["sim_import_bytes_32bit"] = heap_cost(exe, mpy, ["rill.sim.hardware"], after=CORE + ["rill.board"])
    return out


def ota_cost(exe, mpy):
    """What OTA updates and safe mode (rill.ota) cost a board provisioned for them (an app
    without /.ota/key loads none of it): ``idle`` the receiver a bridge carries, with the
    inbound routing it brings to an app that subscribes to nothing;
    ``updating`` the transfer code while an update arrives; ``boot`` the checks main.py
    runs before the app (unloaded after); ``safe_mode`` what runs instead of the app."""
    after = CORE + ["rill.mqtt"]
    return {"idle": heap_cost(exe, mpy, ["rill.ota.receiver", "rill.mqtt.inbound"], after, True),
            "updating": heap_cost(exe, mpy, ["rill.ota.transfer"], after + ["rill.ota.receiver"], True),
            "boot": heap_cost(exe, mpy, ["rill.ota.boot"], CORE, True),
            "safe_mode": heap_cost(exe, mpy, ["rill.ota.safemode"], after, True)}


def figures(results):
    """tools/rill_host/build/heap_figures.json, what tools/rill_host/build/heap_budget.py estimates from."""
    info = boards()
    mods = dict(results["module_import_bytes_32bit"], **{"rill.mqtt": results["mqtt_import_bytes_32bit"]})
    from rill_host.build.heap_budget import EXAMPLE, TEMPLATE, app_bytes

    return {"about": "32-bit MicroPython v1.28 (micropython32), deployed .mpy files: tools/rill_host/bench/heap32.py",
            "core": results["core_import_bytes_32bit"], "modules": mods,
            # what the simulator holds in the app figures (frozen, or as .mpy): the estimate leaves it out
            "sim": results["sim_frozen_import_bytes_32bit" if results.get("app_min_heap_sim") == "frozen"
                           else "sim_import_bytes_32bit"], "sim_loaded_as": results.get("app_min_heap_sim", "mpy"),
            "app_bytes": {"scaffold": app_bytes([TEMPLATE]), "example": app_bytes([EXAMPLE])},
            "apps": {b: {"network": info[b].get("network"), "scaffold_kb": v.get("scaffold"),
                         "example_kb": v.get("example")}
                     for b, v in (results.get("app_min_heap_kb_32bit") or {}).items()}}


def frozen(out, kind, board, fs):
    """(the 32-bit unix firmware with rill and the app frozen (tools/rill_host/build/firmware.py, MicroPython's
    own manifest tooling), a copy of ``fs`` holding only what stays on a board's filesystem
    then: main.py, boot.py, config.json, build.json, the board file; the app's dispatch module
    is frozen with the app)."""
    from rill_host.build.firmware import build

    app_dir = FIRMWARE if kind == "example" else os.path.join(out, "project-" + board)
    exe = build("unix32", app_dir, board_id=board)
    kept = fs + "-frozen"
    shutil.copytree(fs, kept, ignore=lambda d, names: [
        n for n in names if d == fs and (n == "lib" or n.endswith(".mpy") and not n.startswith("heap32"))])
    return exe, kept


def sim_firmware():
    """The unix32 firmware with rill frozen and no app (tools/rill_host/build/firmware.py, cached): the binary
    of the "sim-frozen" probes, which take only rill.sim from it."""
    from rill_host.build.firmware import build

    return build("unix32")


def apps(exe, seconds, only=None, pairs=None, mode="mpy"):
    """``app_min_heap_kb_*`` as in the docstring, and the wall time it took: each app (or those
    of ``pairs``, {(kind, board)}) bisected with probes of ``mode`` (see probe) on ``exe``; for
    "frozen", each on its own firmware with the library and the app frozen."""
    t0 = time.monotonic()
    todo = [(kind, b, info) for b, info in boards().items() for kind in ("example", "scaffold")
            if not (kind == "example" and info.get("network") != "wifi")]
    if only:
        todo = [p for p in todo if "%s:%s" % (p[0], p[1]) in only]
    if pairs:
        todo = [p for p in todo if (p[0], p[1]) in pairs]
    results = {}
    if not todo:
        return results, 0.0
    broker = Broker(kind="mosquitto")
    try:
        broker.start()
        with tempfile.TemporaryDirectory() as out:
            staged = [(kind, b, info, deploy(out, kind, b, broker.port)) for kind, b, info in todo]
            if mode == "frozen":
                staged = [(kind, b, info) + frozen(out, kind, b, fs) for kind, b, info, fs in staged]
            else:
                staged = [(kind, b, info, exe, fs) for kind, b, info, fs in staged]
            with concurrent.futures.ThreadPoolExecutor(len(staged) * PROBES) as pool, \
                    concurrent.futures.ThreadPoolExecutor(len(staged)) as outer:
                runs = {(kind, b): outer.submit(bisect, binary, fs, info.get("network") == "wifi", seconds,
                                                "%s-%s" % (kind, b.lower()), pool, mode)
                        for kind, b, info, binary, fs in staged}
                for (kind, b), f in runs.items():
                    entry = results.setdefault(b, {"heap_budget_kb": boards()[b].get("heap_budget_kb")})
                    entry[kind] = f.result()
    finally:
        broker.close()
    return results, round(time.monotonic() - t0, 1)


def main(argv=None):
    p = Parser(prog="python -m rill_host.bench.heap32", description=__doc__.strip().splitlines()[0])
    p.add_argument("--seconds", type=int, default=30, help="how long each probe runs (default %(default)s)")
    p.add_argument("--only", help="kind:BOARD,... (default: every app on every board)")
    p.add_argument("--no-apps", action="store_true", help="only the import figures (no app, no soak)")
    p.add_argument("--no-frozen", action="store_true", help="without app_min_heap_kb_frozen (no firmware builds)")
    args = p.parse_args(argv)
    exe = micropython32()
    if not exe:
        return {"app_min_heap_kb_32bit": None,
                "heap32_skipped": "no 32-bit MicroPython: set RILL_MICROPYTHON32 or build one with "
                                  "../shared/micropython/build.sh unix32"}
    with tempfile.TemporaryDirectory() as mpy:
        build_mpy(mpy, ARCH, deps=True)
        results = imports(exe, mpy)
    if not args.no_apps:
        if not shutil.which("mosquitto") and not os.path.exists("/usr/sbin/mosquitto"):
            results["heap32_skipped"] = "mosquitto is not installed: the app figures need a real broker"
        else:
            only = set(args.only.split(",")) if args.only else None
            try:  # the simulator from the firmware, as a board has its machine and chips in ROM
                binary, mode = sim_firmware(), "sim-frozen"
                with tempfile.TemporaryDirectory() as mpy:
                    results["sim_frozen_import_bytes_32bit"] = heap_cost(binary, mpy, ["rill.sim.hardware"],
                                                                         after=CORE + ["rill.board"])
            except CliError as e:  # no MicroPython source or toolchain here: the simulator as .mpy, said
                binary, mode = exe, "mpy"
                results["app_sim_frozen_skipped"] = str(e)
            results["app_min_heap_sim"] = "frozen" if mode == "sim-frozen" else "mpy"
            results["app_min_heap_kb_32bit"], results["app_min_heap_wall_s"] = apps(binary, args.seconds, only,
                                                                                   mode=mode)
            if mode == "sim-frozen":  # beside it, as before: the simulator loaded as .mpy files too
                results["app_min_heap_kb_32bit_sim_mpy"], _ = apps(exe, args.seconds, only, SIM_MPY)
            if not args.no_frozen:
                try:
                    results["app_min_heap_kb_frozen"], results["app_min_heap_frozen_wall_s"] = apps(
                        exe, args.seconds, only, FROZEN, mode="frozen")
                except CliError as e:  # no MicroPython source or toolchain here: say why
                    results["app_min_heap_kb_frozen"] = None
                    results["frozen_skipped"] = str(e)
            if not only:
                from rill_host.bench.soak import main as soak  # the MQTT soak heap, 64- and 32-bit

                results.update(soak([]))
                with open(FIGURES, "w") as f:
                    json.dump(figures(results), f, indent=1, sort_keys=True)
                    f.write("\n")
    return results


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv[1:]), sort_keys=True))
    except (BenchError, subprocess.TimeoutExpired) as e:
        sys.stderr.write("bench_heap32: error: %s\n" % e)
        sys.exit(1)
