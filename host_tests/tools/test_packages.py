"""The per-feature packages (tools/rill_host/build/packages.py): generated from the lib/ tree by rule and up
to date; each installs alone (its package.json and the pinned deps) and imports on the
MicroPython unix port; the example's package.json and manifest carry no simulator and
pin umqtt.simple at the version make test uses."""
import json
import os
import shutil
import subprocess

import pytest

from rill_host.common import need_micropython
from tooltest import ROOT, tool

PACKAGES = os.path.join(ROOT, "firmware", "packages")


def _lock():
    with open(os.path.join(ROOT, "tools", "rill_host", "build", "deps.lock")) as f:
        return {p["name"].split("micropython-", 1)[-1]: p for p in json.load(f)["packages"]}


def _package_names():
    return sorted(d for d in os.listdir(PACKAGES) if not d.startswith("board-"))


def test_generated_files_are_up_to_date():
    r = tool("packages.py", "--check")
    assert r.returncode == 0, r.stderr + "\nrun: python -m rill_host.build.packages"


def test_rule_gives_core_mqtt_sim_and_one_package_per_driver():
    names = _package_names()
    drivers = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "lib", "rill", "drivers"))
                     if n.endswith(".py") and n not in ("__init__.py", "sensor.py"))
    assert {"core", "mqtt", "sim", "drivers"} <= set(names)
    assert ["drivers-" + d for d in drivers] == [n for n in names if n.startswith("drivers-")]
    boards = sorted(d for d in os.listdir(PACKAGES) if d.startswith("board-"))
    assert boards == ["board-" + b for b in sorted(os.listdir(os.path.join(ROOT, "boards")))
                      if os.path.exists(os.path.join(ROOT, "boards", b, "board.json"))]


def _install(pkg_json, target):
    """What `mpremote mip install` does with a local package.json (deps: the pinned copy)."""
    with open(pkg_json) as f:
        pkg = json.load(f)
    base = os.path.dirname(pkg_json)
    for dest, url in pkg["urls"]:
        os.makedirs(os.path.dirname(os.path.join(target, dest)), exist_ok=True)
        shutil.copy(os.path.normpath(os.path.join(base, url)), os.path.join(target, dest))
    lock = _lock()
    for name, version in pkg["deps"]:
        assert version == lock[name]["version"], "%s must be pinned at %s" % (name, lock[name]["version"])
        for f in lock[name]["files"]:
            os.makedirs(os.path.dirname(os.path.join(target, f["member"])), exist_ok=True)
            shutil.copy(os.path.join(ROOT, f["dest"]), os.path.join(target, f["member"]))
    return pkg


@pytest.mark.parametrize("name", _package_names())
def test_each_package_imports_alone_on_the_unix_port(name, tmp_path):
    pkg = _install(os.path.join(PACKAGES, name, "package.json"), str(tmp_path))
    own = [u[0] for u in pkg["urls"] if _owned(name, u[0])]
    assert own, "package %s lists no files of its own" % name
    mods = [f[:-3].replace("/__init__", "").replace("/", ".") for f in own]
    exe = need_micropython()
    script = "".join("import %s\n" % m for m in mods) + "print('ok', %d)\n" % len(mods)
    r = subprocess.run([exe, "-X", "heapsize=2M", "-c", script], cwd=str(tmp_path), capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=".frozen:" + str(tmp_path)), timeout=60)
    assert r.stdout.strip() == "ok %d" % len(mods), r.stdout + r.stderr


def _owned(name, dest):
    with open(os.path.join(PACKAGES, name, "manifest.py")) as f:
        text = f.read()
    return '"%s"' % dest[len("rill/"):] in text.split("package(\"rill\"", 1)[1].split("\n", 1)[0]


def test_example_package_json_has_no_simulator_and_no_unpinned_deps():
    with open(os.path.join(ROOT, "firmware", "package.json")) as f:
        pkg = json.load(f)
    files = [u[0] for u in pkg["urls"]]
    assert "rill/graph.py" in files and "rill/mqtt/__init__.py" in files
    assert not [f for f in files if f.startswith("rill/sim/") or f.endswith("cpython_compat.py")]
    assert pkg.get("deps", []) == []  # rill.mqtt speaks MQTT itself; nothing from micropython-lib
    with open(os.path.join(ROOT, "firmware", "manifest.py")) as f:
        manifest = f.read()
    assert "latest" not in manifest and 'require("umqtt' not in manifest
    with open(os.path.join(PACKAGES, "mqtt", "manifest.py")) as f:
        assert "umqtt" not in f.read()
