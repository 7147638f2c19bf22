"""tools/rill_host/deploy/cli.py onto virtual boards that import only what was deployed, as real boards:
a small project (a fixture app in a temp folder) deploys with mpremote and with ampy,
its messages reach a real broker, a second deploy uploads nothing, and a board that is
not the one asked for is refused."""
import json
import os
import re
import subprocess

import pytest

from rill_host.common import ROOT, micropython_exe
from rill_host.mqtt_host import Broker, BrokerError, Client
from tooltest import make_project, tool


@pytest.fixture(scope="module")
def broker():
    try:
        b = Broker()
        b.start()
    except BrokerError as e:
        pytest.skip(str(e))
    yield b
    b.close()


def uploaded(out):
    m = re.search(r"deploy: uploaded (\d+) of (\d+) files", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def messages_arrive(b, broker, device):
    client = Client(broker.port, "t-" + device)
    try:
        client.subscribe("proj/%s/n" % device, qos=0)
        r = tool("monitor.py", "--port", b.port, "--reset", "--seconds", "0.5")  # soft reset: main.py runs
        assert r.returncode == 0, r.stderr
        got = []
        for _ in range(100):
            msg = client.receive(0.1)
            if msg is not None:
                got.append(json.loads(msg.payload)["v"])
                if len(got) >= 3:
                    break
        assert len(got) >= 3, b.console()[-2000:]
        assert got == sorted(got)
    finally:
        client.close()


@pytest.mark.parametrize("client", ["mpremote", "ampy"])
def test_project_deploys_runs_and_redeploys_nothing(client, fresh_vboard, tmp_path, broker):
    b = fresh_vboard("RPI_PICO_W", extra=["--no-host-lib"]).start()
    r = b.mpremote("exec", "import rill")
    assert r.returncode == 1 and "ImportError" in r.stdout  # no fallback to the host's lib/
    proj = make_project(tmp_path, broker.port, "proj-" + client)
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO_W", "--app", proj, "--tool", client, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    sent, total = uploaded(r.stdout)
    assert sent == total > 10
    fs = b.fs
    for name in ("app.mpy", "helpers.mpy", "main.py", "boot.py", "config.json", "boards/RPI_PICO_W/board.json",
                 "lib/umqtt/simple.mpy", "lib/rill/graph.mpy", "lib/rill/mqtt/__init__.mpy",
                 "lib/rill/sim/hardware.mpy"):  # rill.board may load the simulator (a virtual board)
        assert os.path.exists(os.path.join(fs, name)), name
    assert not os.path.exists(os.path.join(fs, "tests"))
    for unused in ("bme280", "sht3x"):  # the app imports neither
        assert not os.path.exists(os.path.join(fs, "lib", "rill", "drivers", unused + ".mpy"))
    messages_arrive(b, broker, "proj-" + client)
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO_W", "--app", proj, "--tool", client, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert uploaded(r.stdout) == (0, total), r.stdout


def test_only_changes_are_sent_and_stale_modules_removed(fresh_vboard, tmp_path):
    b = fresh_vboard("RPI_PICO", extra=["--no-host-lib"])
    os.makedirs(os.path.join(b.fs, "lib", "rill"))
    open(os.path.join(b.fs, "lib", "rill", "stale.mpy"), "w").close()  # a previous deploy's leftover
    open(os.path.join(b.fs, "app.py"), "w").close()  # would shadow app.mpy
    b.start()
    proj = make_project(tmp_path, 9)
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO", "--app", proj, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removed 2" in r.stdout
    assert not os.path.exists(os.path.join(b.fs, "lib", "rill", "stale.mpy"))
    assert not os.path.exists(os.path.join(b.fs, "app.py"))
    with open(os.path.join(proj, "helpers.py"), "a") as f:
        f.write("\nEXTRA = 1\n")
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO", "--app", proj, timeout=120)
    assert uploaded(r.stdout)[0] == 2, r.stdout  # helpers.mpy, and build.json: the app's hash changed
    r = b.mpremote("exec", "from rill import board; print(board.load('RPI_PICO'))")
    assert r.stdout.strip() == "<Board RPI_PICO (RP2040, simulated)>", r.stdout


def test_board_mismatch_is_refused(fresh_vboard, tmp_path):
    b = fresh_vboard("RPI_PICO", extra=["--no-host-lib"]).start()
    r = tool("deploy.py", "--port", b.port, "--board", "ESP32_GENERIC", "--app", make_project(tmp_path, 9))
    assert r.returncode == 1
    assert r.stderr.strip().startswith("rill deploy: error: refusing to deploy for ESP32_GENERIC: the virtual board")
    assert r.stderr.strip().count("\n") == 0
    assert os.listdir(os.path.join(b.fs, "lib")) == []  # nothing was written


def test_dry_run_prints_and_touches_nothing():
    r = tool("deploy.py", "--port", "/dev/ttyACM7", "--board", "ESP32_GENERIC", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "mpremote connect /dev/ttyACM7 exec" in r.stdout
    assert ":/lib/rill/graph.mpy" in r.stdout and "xtensawin" in r.stdout and ":/app.mpy" in r.stdout
    assert "/sim/" not in r.stdout  # a real board gets no simulator
    r = tool("deploy.py", "--port", "/dev/ttyACM7", "--board", "RPI_PICO", "--tool", "ampy", "--source", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "ampy --port /dev/ttyACM7 put firmware/main.py /main.py" in r.stdout


def test_a_module_app_gets_a_main_that_starts_it(tmp_path):
    from rill_host.deploy import plan as deploy_plan

    mod = tmp_path / "greenhouse.py"
    mod.write_text("def main():\n    print('hi')\n")
    app = deploy_plan.App(str(mod))
    items = deploy_plan.plan(app, "RPI_PICO", "x64", source=True)
    main = [local for remote, local, _ in items if remote == "/main.py"][0]
    with open(main) as f:
        assert "import greenhouse as app" in f.read()


DEVICE_READS = """
import json, sys
from rill import board
b = board.load("%s")
facts = [b.platform, b.hard_irq, b._temp, b.pins, b.heap_budget, b.title]
print(json.dumps(["rill.boardhelp" in sys.modules, facts]))
from rill import boardhelp
with open("%s") as f:
    print(json.dumps(boardhelp.complete(json.load(f))))
"""


@pytest.mark.skipif(not micropython_exe(), reason="needs MicroPython")
def test_the_board_file_is_deployed_completed_and_the_device_reads_it_alone(tmp_path):
    from rill_host.deploy import plan as deploy_plan

    for name in sorted(os.listdir(os.path.join(ROOT, "boards"))):
        full = os.path.join(ROOT, "boards", name, "board.json")
        if not os.path.exists(full):
            continue
        fs = tmp_path / name
        os.makedirs(fs / "boards" / name)
        staged = deploy_plan.device_board(name, str(fs / "boards" / name))
        with open(staged) as f:
            device = json.load(f)
        with open(full) as f:
            info = json.load(f)
        host_only = ("firmware", "flash", "mpy", "heap_note", "reserved")
        assert all(k in info and k not in device for k in host_only), sorted(device)
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib"), RILL_ROOT=str(fs))
        r = subprocess.run([micropython_exe(), "-c", DEVICE_READS % (name, full)], capture_output=True, text=True,
                           env=env, timeout=30)
        assert r.returncode == 0, r.stderr + r.stdout
        loaded, completed = r.stdout.splitlines()
        helper, facts = json.loads(loaded)
        assert helper is False, "the device loaded rill.boardhelp to read its completed board file"
        assert json.loads(completed) == device  # the library completes a repository file the same way
        assert facts == [device["platform"], device["pin_irq_hard"], device["temp_sensor"], info["pins"],
                         info["heap_budget_kb"] * 1024, info["name"]]
