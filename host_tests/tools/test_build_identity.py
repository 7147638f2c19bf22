"""Build identity on the host: tools/rill_host/build/identity.py hashes lib, app and config in one
place; `rill build` writes build/…/build.json and a deploy ships /build.json with the
firmware version the board reports."""
import json
import os
import subprocess

import test_capture
from rill_host.build import identity as build_identity
from rill_host.deploy.plan import App, plan
from test_capture import RILL, original_run
from tooltest import make_project, tool

project = test_capture.project  # the fixture: a `rill new` project and its app module


def test_hashes_name_what_changed(tmp_path):
    proj = make_project(tmp_path, 9)
    app = App(proj)
    a = build_identity.identity(app.modules, app.config, "armv6m", "1.25.0")
    assert len(a["lib"]) == len(a["app"]) == len(a["config"]) == 64
    assert a["arch"] == "armv6m" and a["firmware"] == "1.25.0"
    assert build_identity.identity(app.modules, app.config, "armv6m", "1.25.0") == a  # no dates, no order
    with open(os.path.join(proj, "helpers.py"), "a") as f:
        f.write("\nEXTRA = 1\n")
    b = build_identity.identity(App(proj).modules, app.config, "armv6m", "1.25.0")
    assert b["app"] != a["app"] and b["lib"] == a["lib"] and b["config"] == a["config"]
    none = build_identity.identity()
    assert none["app"] == none["config"] == "none" and none["lib"] == a["lib"]


def test_build_writes_build_json(tmp_path):
    proj = make_project(tmp_path, 9)
    out = str(tmp_path / "mpy")
    r = tool("build.py", "--board", "RPI_PICO", "--out", out, "--app", proj, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(out, "build.json")) as f:
        got = json.load(f)
    app = App(proj)
    assert got == build_identity.identity(app.modules, app.config, "armv6m", "1.25.0")


def test_deploy_plan_ships_the_identity(tmp_path):
    proj = make_project(tmp_path, 9)
    items = plan(App(proj), "RPI_PICO", "armv6m", source=True, out=str(tmp_path / "out"), firmware="1.24.1")
    where = {remote: local for remote, local, _ in items}
    with open(where["/build.json"]) as f:
        got = json.load(f)
    app = App(proj)
    assert got == build_identity.identity(app.modules, app.config, "armv6m", "1.24.1")


def test_deploy_records_the_firmware_the_board_reports(fresh_vboard, tmp_path):
    b = fresh_vboard("RPI_PICO", extra=["--no-host-lib"]).start()
    proj = make_project(tmp_path, 9)
    r = tool("deploy.py", "--port", b.port, "--board", "RPI_PICO", "--app", proj, "--source", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(b.fs, "build.json")) as f:
        got = json.load(f)
    r = b.mpremote("exec", "import sys; print('.'.join(str(x) for x in sys.implementation.version[:3]))")
    assert got["firmware"] == r.stdout.strip() and got["firmware"][0].isdigit(), (got, r.stdout)
    app = App(proj)
    assert {k: got[k] for k in ("lib", "app", "config")} == {
        k: v for k, v in build_identity.identity(app.modules, app.config).items() if k in ("lib", "app", "config")}
    r = b.mpremote("exec", "from rill import identity; print(identity.short(identity.load())['lib'])")
    assert r.stdout.strip() == got["lib"][:12], r.stdout + r.stderr



def test_rill_replay_compares_with_what_a_deploy_ships(tmp_path):
    from rill_host.evidence.replay import running_identity

    proj = make_project(tmp_path, 9)
    items = plan(App(proj), "RPI_PICO", "armv6m", source=True, out=str(tmp_path / "out"))
    with open({r: local for r, local, _ in items}["/build.json"]) as f:
        shipped = json.load(f)
    running = running_identity(proj)
    assert {k: running[k] for k in ("lib", "app", "config")} == {k: shipped[k] for k in ("lib", "app", "config")}


def test_rill_replay_warns_in_one_line_when_the_build_differs(project, tmp_path, monkeypatch):
    from rill_host.evidence.replay import running_identity

    folder, app, cfg = project
    unknown = str(tmp_path / "unknown.capture")
    original_run(app, cfg, unknown)  # no build.json where it ran: the header has no identity
    r = subprocess.run([RILL, "replay", unknown, "--app", str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout, r.stderr
    assert r.stderr.count("\n") == 1 and "replay: warning:" in r.stderr and "lib=unknown" in r.stderr, r.stderr
    board_dir = tmp_path / "board"
    board_dir.mkdir()
    build_identity.write(str(board_dir / "build.json"), running_identity(str(folder)))
    monkeypatch.chdir(board_dir)  # the recording "board" has this app's build.json
    same = str(tmp_path / "same.capture")
    original_run(app, cfg, same)
    r = subprocess.run([RILL, "replay", same, "--app", str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    with open(folder / "app.py", "a") as f:
        f.write("\n# changed\n")
    r = subprocess.run([RILL, "replay", same, "--app", str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr.count("\n") == 1 and "(app=" in r.stderr and "lib=" not in r.stderr, r.stderr


def test_two_apps_planned_into_one_build_folder_keep_their_own_files(tmp_path):
    """Deploys of two apps at once (two terminals, two test workers) share build/deploy: each
    app's staged files (build.json, board.json, main.py) live in a folder of its own."""
    out = str(tmp_path / "out")
    first = plan(App(make_project(tmp_path / "a", 1)), "RPI_PICO", "armv6m", source=True, out=out)
    second = plan(App(make_project(tmp_path / "b", 2)), "RPI_PICO", "armv6m", source=True, out=out)
    mine = {remote: local for remote, local, _ in first}
    theirs = {remote: local for remote, local, _ in second}
    assert mine["/build.json"] != theirs["/build.json"]
    assert all(os.path.exists(local) for local in mine.values())
