"""docs/getting-started.md "Quick start" as a user walks it: `rill new`; `rill run --app .` runs the new
project's app on a virtual board of config.json's board at that board's default heap,
and its readings reach a real broker (or the console, on a board without networking);
`rill deploy --app .` puts it on a (virtual) board, where main.py starts it at the next
reset."""
import json
import os
import re

import pytest

from rill_host.mqtt_host import Broker, BrokerError, Client
from test_rill_project import rill
from tooltest import tool


def new_project(tmp_path, board="RPI_PICO_W"):
    project = tmp_path / "greenhouse"
    r = rill("new", str(project), "--board", board, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return project


@pytest.mark.parametrize("board", ["RPI_PICO_W", "ESP32_GENERIC"])  # ESP32: the smallest heap budget
def test_a_new_project_runs_on_its_virtual_board_at_the_default_heap(tmp_path, board):
    project = new_project(tmp_path, board)
    r = rill("run", "--app", ".", "--seconds", "7", cwd=str(project), timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "virtual board %s " % board in out, out  # config.json's board
    assert "MemoryError" not in out, out
    assert "board | app: mqtt online" in out, out  # the app says how its connection goes
    assert re.search(r"mqtt  \| devices/greenhouse-1/status +online boot=\d+", out), out
    temps = re.findall(r"mqtt  \| greenhouse/greenhouse-1/temp +seq=(\d+) +(\d+\.\d+)", out)
    assert temps and abs(float(temps[-1][1]) - 22.0) < 1.0, out
    summary = r.stdout.strip().splitlines()[-1]
    assert re.match(r"rill run: \d+ messages in [\d.]+ s \(status \d+, temp \d+\); seq \d+\.\.\d+, 0 gaps",
                    summary), summary


def test_on_a_board_without_network_the_readings_go_to_the_console(tmp_path):
    project = new_project(tmp_path, "RPI_PICO")
    r = rill("run", "--app", ".", "--seconds", "5", cwd=str(project), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"board \| app: temp 2\d\.\d\d C", r.stdout), r.stdout
    assert re.search(r"rill run: RPI_PICO has no network, so no MQTT: \d+ console lines", r.stdout), r.stdout


@pytest.mark.parametrize("client_tool", ["mpremote", "ampy"])
def test_a_new_project_deploys_and_starts_at_the_next_reset(tmp_path, fresh_vboard, client_tool):
    try:
        broker = Broker()
        broker.start()
    except BrokerError as e:
        pytest.skip(str(e))
    client = None
    try:
        project = new_project(tmp_path)
        cfg = json.loads((project / "config.json").read_text())
        cfg["mqtt"]["port"] = broker.port
        (project / "config.json").write_text(json.dumps(cfg))
        b = fresh_vboard("RPI_PICO_W", extra=["--no-host-lib"]).start()
        deploy = ("deploy", "--app", ".", "--port", b.port, "--board", "RPI_PICO_W", "--tool", client_tool)
        r = rill(*deploy, cwd=str(project), timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "main.py starts the app at the next reset" in r.stdout, r.stdout
        again = rill(*deploy, cwd=str(project), timeout=300)
        assert again.returncode == 0 and re.search(r"deploy: uploaded 0 of \d+ files", again.stdout), again.stdout
        client = Client(broker.port, "t-quickstart")
        client.subscribe("greenhouse/#", qos=0)
        assert tool("monitor.py", "--port", b.port, "--reset", "--seconds", "0.5").returncode == 0
        msg = None
        for _ in range(100):
            msg = client.receive(0.1)
            if msg is not None:
                break
        assert msg is not None, b.console()[-2000:]
        assert msg.topic == "greenhouse/greenhouse-1/temp" and json.loads(msg.payload)["dev"] == "greenhouse-1"
        assert "app: mqtt online" in b.console(), b.console()[-2000:]
    finally:
        if client is not None:
            client.close()
        broker.close()


def test_a_second_run_on_the_same_virtual_board_is_refused_before_it_deploys(tmp_path):
    project = new_project(tmp_path, "RPI_PICO")
    work = os.path.join(str(project), ".rill", "vboard", "example", "RPI_PICO")  # the run's state: in the project
    info = os.path.join(work, "vboard.json")
    os.makedirs(os.path.join(work, "fs"), exist_ok=True)
    marker = os.path.join(work, "fs", "still-here")
    with open(marker, "w"), open(info, "w") as f:  # a run in progress: this process, on some device
        json.dump({"port": os.devnull, "board": "RPI_PICO", "pid": os.getpid(), "fs": work}, f)
    try:
        r = rill("run", "--app", ".", "--seconds", "1", cwd=str(project), timeout=60)
    finally:
        os.remove(info)
    assert r.returncode == 1 and "another run uses the virtual RPI_PICO (pid %d)" % os.getpid() in r.stderr, r.stderr
    assert os.path.exists(marker)  # its files were left alone


def test_the_virtual_board_renames_files_as_a_board_does(fresh_vboard):
    """os.rename with absolute and relative paths (a log rotation's move), after a chdir too."""
    b = fresh_vboard("RPI_PICO_W", extra=["--no-host-lib"]).start()
    r = b.mpremote("exec", "import os\nos.mkdir('/d')\nopen('/a.txt', 'w').write('1')\n"
                   "os.rename('/a.txt', '/d/b.txt')\nos.chdir('/d')\nos.rename('b.txt', 'c.txt')\n"
                   "print(os.listdir('/d'), os.listdir('/'), os.getcwd())")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "['c.txt']" in r.stdout and "a.txt" not in r.stdout and r.stdout.strip().endswith("/d"), r.stdout
    assert open(os.path.join(b.fs, "d", "c.txt")).read() == "1"
