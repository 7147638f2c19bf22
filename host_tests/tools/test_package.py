"""The one host package: a wheel installed in a fresh venv outside the checkout gives a
working `rill new` and `rill test` and a `python` that imports rill; state files stay in
the project's .rill/ (which the generated .gitignore covers); `rill test` outside a project
says what it looked for and how to start; the scaffold's README says to flash MicroPython
before deploying; the heap bench's apps name the bench's own broker, never 1883."""
import glob
import json
import os
import subprocess
import sys

import pytest

from rill_host.bench import heap32
from rill_host.scaffold import create
from test_rill_project import rill
from tooltest import ROOT, run


def _ok(r):
    assert r.returncode == 0, "%s\n%s%s" % (" ".join(r.args), r.stdout, r.stderr)
    return r


def test_the_wheel_works_in_a_fresh_venv_outside_the_checkout(tmp_path):
    """pip wheel + pip install (the wheel, its pinned requirements from the package index)
    into a new venv, then `rill new` + `rill test` in a folder of the user's own."""
    wheels, venv, home = tmp_path / "wheels", tmp_path / "venv", tmp_path / "home"
    _ok(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), ROOT], timeout=300))
    wheel = glob.glob(str(wheels / "rill_host-*.whl"))
    assert len(wheel) == 1, os.listdir(str(wheels))
    _ok(run([sys.executable, "-m", "venv", str(venv)], timeout=120))
    _ok(run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", wheel[0]], timeout=600))
    env = dict(os.environ, PATH="%s:%s" % (venv / "bin", os.environ["PATH"]), XDG_CACHE_HOME=str(home))
    for name in ("MICROPYTHON", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    home.mkdir()
    rill_cmd = str(venv / "bin" / "rill")
    _ok(run([rill_cmd, "new", "greenhouse", "--board", "RPI_PICO_W"], cwd=str(home), env=env))
    project = home / "greenhouse"
    r = _ok(run([rill_cmd, "test"], cwd=str(project), env=env, timeout=600))
    assert "runtime=cpython passed=2 failed=0" in r.stdout and "runtime=micropython passed=2 failed=0" in r.stdout, \
        r.stdout
    show = "import rill, rill_host; print(rill.__file__, rill_host.CHECKOUT)"
    r = _ok(run([str(venv / "bin" / "python"), "-c", show], cwd=str(home), env=env))
    where, checkout = r.stdout.split()
    assert where.startswith(str(venv)) and checkout == "None", r.stdout  # the installed copies, not the checkout
    # the run's state: in .rill/, which the generated .gitignore covers; nothing in the project's root
    assert glob.glob(str(project / ".rill" / "*.seq.0")), os.listdir(str(project))
    assert not glob.glob(str(project / "*.seq.*"))
    assert ".rill/" in (project / ".gitignore").read_text().split()


def test_rill_test_in_an_empty_folder_says_how_to_start(tmp_path):
    r = rill("test", cwd=str(tmp_path))
    assert r.returncode == 4 and r.stdout == "" and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert r.stderr.startswith("rill test: no rill project here: no pytest.ini ") and str(tmp_path) in r.stderr
    assert "start one with 'rill new DIR --board " in r.stderr and "no tests ran" not in r.stderr


def test_rill_test_in_a_projects_parent_folder_names_the_project(tmp_path):
    assert rill("new", str(tmp_path / "soil"), "--board", "RPI_PICO").returncode == 0
    r = rill("test", cwd=str(tmp_path))
    assert r.returncode == 4 and r.stderr.count("\n") == 1, r.stdout + r.stderr
    assert "the project is soil: cd soil && rill test" in r.stderr and "No module named" not in r.stdout + r.stderr


def test_the_scaffold_readme_says_to_flash_micropython_before_deploying(tmp_path):
    create(str(tmp_path / "p"), "ESP32_GENERIC")
    text = (tmp_path / "p" / "README.md").read_text()
    assert "rill flash --board ESP32_GENERIC --port" in text and "MicroPython" in text
    assert text.index("rill flash --board") < text.index("Then `rill deploy`")
    assert ".rill/" in (tmp_path / "p" / ".gitignore").read_text().split()


@pytest.mark.parametrize("kind", ["scaffold", "example"])
def test_the_heap_bench_apps_name_its_own_broker(tmp_path, kind):
    fs = heap32.deploy(str(tmp_path), kind, "ESP32_GENERIC", 54321)
    configs = [os.path.join(fs, "config.json")] + glob.glob(str(tmp_path / "project-*" / "config.json"))
    for path in configs:
        with open(path) as f:
            assert json.load(f)["mqtt"]["port"] == 54321, path


def test_no_sequence_files_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if ".seq." in os.path.basename(f)]
