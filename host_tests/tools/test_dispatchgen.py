"""The fast dispatch a deployed app gets: ``rill build --app`` writes it on the host from
the app's pipeline(board, cfg), mpy-cross compiles it with -march (native code in the
.mpy), and the app on the MicroPython unix port uses it; changed after the build, the
app runs the reference dispatch and says so once."""
import json
import os
import subprocess
import sys

from rill_host.common import micropython_exe
from rill_host.deploy import plan as deploy_plan
from tooltest import ROOT, venv_tool

RUN = """import json
import app
from rill import board
cfg = json.load(open(%(cfg)r))
bd = board.load(cfg["board"], sim=True, path=%(board)r)
p = app.pipeline(bd, cfg)
p.tap("smooth", print, name="console")  # as main() adds on a board without networking
g = p.build(board=bd)
print("dispatch", g.dispatch)
g.push("air", {"temperature_c": 21.5, "humidity_pct": 40.0})
print("smooth", g.records["smooth"].value)
"""


def new_app(tmp_path):
    subprocess.run([venv_tool("rill"), "new", str(tmp_path / "proj"), "--board", "RPI_PICO"], check=True,
                   capture_output=True)
    return tmp_path / "proj"


def run_app(tmp_path, app, built):
    script = tmp_path / "run.py"
    script.write_text(RUN % {"cfg": str(app / "config.json"),
                             "board": os.path.join(ROOT, "boards", "RPI_PICO", "board.json")})
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (built, app))
    proc = subprocess.run([micropython_exe() or venv_tool("micropython"), "-X", "heapsize=128K", str(script)],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def test_build_app_ships_a_native_module_the_app_uses_until_its_graph_changes(tmp_path):
    app = new_app(tmp_path)
    out = tmp_path / "build"
    subprocess.run([sys.executable, "-m", "rill_host.build.cli", "--app", str(app), "--arch", "x64",
                    "--out", str(out)], check=True, capture_output=True, cwd=ROOT)
    mpy = (out / "rill_dispatch_app.mpy").read_bytes()
    assert mpy[:1] == b"M" and mpy[2] >> 2 == 2  # native code for x64 (py/persistentcode.h MP_NATIVE_ARCH_X64)
    assert run_app(tmp_path, app, out) == ["dispatch module", "smooth 21.5"]
    text = (app / "app.py").read_text()
    (app / "app.py").write_text(text.replace('    p.record("temp", float)\n', '    p.record("temp", float)\n'
                                             '    p.record("copy", float)\n'
                                             '    p.transform("copy", lambda t: t, "temp")\n'))
    said = run_app(tmp_path, app, out)
    assert said == ["rill: pipeline 'app': rill_dispatch_app.py was built for another graph; running the "
                    "reference dispatch (rebuild with rill build)", "dispatch reference", "smooth 21.5"]


def test_the_deploy_plan_ships_the_module_and_source_ships_it_as_py(tmp_path):
    app = deploy_plan.App(str(new_app(tmp_path)))
    items = deploy_plan.plan(app, "RPI_PICO", "armv6m", out=str(tmp_path / "deploy"))
    found = [(r, p) for r, p, g in items if r.startswith("/rill_dispatch_")]
    assert [r for r, _ in found] == ["/rill_dispatch_app.mpy"]
    with open(found[0][1], "rb") as f:
        assert f.read(3)[2] >> 2 == 4  # armv6m, the RP2040's
    items = deploy_plan.plan(app, "RPI_PICO", "armv6m", source=True, out=str(tmp_path / "src"))
    assert [r for r, _, _ in items if r.startswith("/rill_dispatch_")] == ["/rill_dispatch_app.py"]


EXAMPLE = """import app
from rill import board
cfg = app.load_config()
bd = board.load(cfg["board"], sim=True)
g = app.pipeline(bd, cfg, app.bridge(cfg, cfg["device"], seq=None)).build(bd)  # as app.run() builds it
print("dispatch", g.dispatch)
"""
TEMPLATE = """import app
from rill import board
cfg = app.load_config()
bd = board.load(cfg["board"], sim=True)
mq = app.bridge(cfg)  # as app.main() builds it on a board with networking
p = app.pipeline(bd, cfg)
mq.attach(p)
p.tap("mqtt", print, name="say_mqtt")
print("dispatch", p.build(board=bd).dispatch)
"""


def deployed(tmp_path, app, board, config, script):
    """``app`` deployed as tools/rill_host/vboard/run.py deploys it to a virtual ``board`` (.mpy
    for the unix port it runs, the dispatch module beside them); what building its
    graph there says."""
    from rill_host.common import board_micropython
    from rill_host.vboard.run import deploy

    exe = board_micropython()
    fs = tmp_path / "fs"
    deploy(str(fs), board, deploy_plan.App(str(app)), config, source=False, exe=exe)
    (fs / "boot_check.py").write_text(script)
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (fs / "lib", fs), RILL_BOARD=board)
    proc = subprocess.run([exe, "-X", "heapsize=256K", "boot_check.py"],
                          env=env, cwd=str(fs), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return sorted(os.listdir(fs)), proc.stdout.splitlines()


def test_the_example_app_deployed_runs_its_host_built_module(tmp_path):
    files, said = deployed(tmp_path, deploy_plan.FIRMWARE, "RPI_PICO_W",
                           {"device": "t", "board": "RPI_PICO_W", "mqtt": {"host": "127.0.0.1", "port": 1}},
                           EXAMPLE)
    assert "rill_dispatch_climate.mpy" in files
    assert said == ["dispatch module"]


def test_a_new_project_on_a_networked_board_runs_its_module_beside_the_bridge(tmp_path):
    """The bridge's writers (its state, its inbound records) only write their records:
    they run the reference, and the graph still says "module"."""
    subprocess.run([venv_tool("rill"), "new", str(tmp_path / "proj"), "--board", "RPI_PICO_W"], check=True,
                   capture_output=True)
    app = tmp_path / "proj"
    config = json.loads((app / "config.json").read_text())
    files, said = deployed(tmp_path, app, "RPI_PICO_W", config, TEMPLATE)
    assert "rill_dispatch_app.mpy" in files
    assert said == ["dispatch module"]
