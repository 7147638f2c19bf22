"""tools/deploy.py onto a virtual board that has only its own filesystem (--no-host-lib),
as a real board: the deployed app must import and run from /lib."""
import os

from tooltest import tool


def test_deploy_mpy_with_mpremote_then_import(fresh_vboard, tmp_path):
    b = fresh_vboard("RPI_PICO_W", extra=["--no-host-lib"]).start()
    r = b.mpremote("exec", "import rill")
    assert r.returncode == 1 and "ImportError" in r.stdout  # nothing deployed yet
    cfg = tmp_path / "config.json"
    cfg.write_text('{"device": "t1", "mqtt": {"host": "127.0.0.1", "port": 9}}')
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO_W", "--mpy", "--config", str(cfg), timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deploy: done" in r.stdout
    fs = b.fs
    assert os.path.exists(os.path.join(fs, "lib", "rill", "graph.mpy"))
    assert not os.path.exists(os.path.join(fs, "lib", "rill", "graph.py"))
    assert not os.path.exists(os.path.join(fs, "lib", "rill", "cpython_compat.mpy"))
    for name in ("boot.py", "main.py", "app.mpy", "config.json", "boards/RPI_PICO_W/board.json",
                 "lib/umqtt/simple.py"):
        assert os.path.exists(os.path.join(fs, name)), name
    r = b.mpremote("exec", "import rill, umqtt.simple, app; print(rill.__file__, app.load_config()['device'])")
    assert r.returncode == 0, r.stdout
    assert r.stdout.split() == ["/lib/rill/__init__.mpy", "t1"]


def test_deploy_source_replaces_stale_mpy(fresh_vboard):
    b = fresh_vboard("RPI_PICO", extra=["--no-host-lib"])
    os.makedirs(os.path.join(b.fs, "lib", "rill"))
    open(os.path.join(b.fs, "lib", "rill", "stale.mpy"), "w").close()  # a previous deploy's leftover
    b.start()
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO", timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(os.path.join(b.fs, "lib", "rill", "stale.mpy"))
    r = b.mpremote("exec", "from rill import board; print(board.load('RPI_PICO'))")
    assert r.stdout.strip() == "<Board RPI_PICO (RP2040, simulated)>", r.stdout


def test_dry_run_prints_and_touches_nothing():
    r = tool("deploy.py", "--port", "/dev/ttyACM7", "--board", "ESP32_GENERIC", "--mpy", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "mpremote connect /dev/ttyACM7 exec" in r.stdout
    assert "fs cp -r lib :" in r.stdout and "app.mpy boot.py main.py :" in r.stdout
    # ampy (slow on any board: a soft reset per file) gets one put per top-level entry
    r = tool("deploy.py", "--port", "/dev/ttyACM7", "--board", "RPI_PICO", "--tool", "ampy", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "ampy --port /dev/ttyACM7 put lib /lib" in r.stdout
    assert "ampy --port /dev/ttyACM7 put main.py /main.py" in r.stdout


def test_package_json_lists_the_device_files():
    import json

    from deploy import device_files

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "firmware", "package.json")) as f:
        pkg = json.load(f)
    assert [u[0] for u in pkg["urls"]] == device_files(), "run: python tools/deploy.py --package-json"
    assert ["umqtt.simple", "latest"] in pkg["deps"]
