"""Every manifest under firmware/ works with MicroPython v1.28's own manifest tool
(tools/manifestfile.py from the source, unpacked into the cache, no stub), for the unix and
qemu ports; rill firmware's frozen builds; the bytecode staging for ports without native code."""
import glob
import os
import subprocess

import pytest

from rill_host.build import firmware
from rill_host.build.mpy import bytecode_source
from rill_host.build.packages import Model, lib_version, needed
from tooltest import ROOT

FIRMWARE = os.path.join(ROOT, "firmware")
MANIFESTS = [os.path.join(FIRMWARE, "manifest.py")] + sorted(glob.glob(os.path.join(FIRMWARE, "packages", "*",
                                                                                    "manifest.py")))


@pytest.fixture(scope="module")
def tree():
    try:
        return firmware.source()[0]
    except firmware.CliError as e:
        pytest.skip(str(e))


def _lib(files):
    return {os.path.relpath(full, os.path.join(ROOT, "lib")) for _, full in files
            if full.startswith(os.path.join(ROOT, "lib") + os.sep)}


@pytest.mark.parametrize("port", ["unix", "qemu"])
@pytest.mark.parametrize("manifest", MANIFESTS, ids=[os.path.relpath(m, FIRMWARE) for m in MANIFESTS])
def test_the_real_tool_reads_each_manifest(tree, manifest, port):
    files = firmware.frozen_files(tree, manifest, port)  # CliError (the tool's message) if rejected
    names = [t for t, _ in files]
    assert len(names) == len(set(names))  # nothing frozen twice
    model = Model()
    pkg = os.path.basename(os.path.dirname(manifest))
    if pkg != "firmware":  # a per-feature package: its own files and those of what it needs
        p = model.packages()[pkg]
        assert _lib(files) == set(model.files([pkg] + p["needs"]))
        return
    want, deps = needed([os.path.join(FIRMWARE, "app.py")], model=model)
    assert _lib(files) == set(model.files(want)) and deps == []
    assert not any("/sim/" in n or "cpython_compat" in n or "umqtt" in n for n in names)
    assert "app.py" in names and "asyncio/core.py" in names and "asyncio/task.py" in names


def test_each_package_keeps_its_own_metadata(tree):
    mf = firmware.manifestfile(tree)
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_DIR": tree, "MPY_LIB_DIR": None, "PORT_DIR": None,
                                        "BOARD_DIR": None})
    m.execute(os.path.join(FIRMWARE, "packages", "drivers-analog", "manifest.py"))
    described = {f.target_path: f.metadata.description for f in m.files()}
    assert described["rill/drivers/analog.py"] == "rill: the analog driver"
    assert described["rill/graph.py"].startswith("rill: pipelines")
    assert {f.metadata.version for f in m.files()} == {lib_version()}


def test_a_port_manifest_error_is_not_taken_for_a_missing_one(tree, tmp_path):
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "manifest.py").write_text('include("$(MPY_DIR)/no/such/dir")\n')
    mf = firmware.manifestfile(tree)
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_DIR": tree, "MPY_LIB_DIR": None, "PORT_DIR": str(tmp_path),
                                        "BOARD_DIR": None})
    with pytest.raises(mf.ManifestFileError, match="no/such/dir"):
        m.execute(os.path.join(FIRMWARE, "manifest.py"))


def test_bytecode_source_blanks_native_decorators_and_keeps_line_numbers():
    text = "import micropython\n@micropython.native  # hot\ndef f():\n    return 1\n  @micropython.viper\n" \
           "s = '@micropython.native'\n"
    out = bytecode_source(text)
    assert out.count("\n") == text.count("\n")
    assert out.splitlines()[1] == "" and out.splitlines()[4] == ""
    assert "s = '@micropython.native'" in out and "def f():" in out


def test_unix32_firmware_runs_the_example_app_modules_frozen(tmp_path):
    if firmware.missing_tools("unix32"):
        pytest.skip("cannot build unix32 here: missing %s" % ", ".join(firmware.missing_tools("unix32")))
    try:
        exe = firmware.build("unix32", os.path.join(ROOT, "firmware"))
    except firmware.CliError as e:
        if "no MicroPython source" in str(e):
            pytest.skip(str(e))
        raise
    code = ("import sys, rill.graph, rill.filters, rill.mqtt, asyncio\n"
            "print(sys.maxsize, rill.graph.__file__, rill.__version__)")
    r = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=30, cwd=str(tmp_path),
                       env=dict(os.environ, MICROPYPATH=".frozen"))  # nothing on the path but the frozen modules
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == [str(2 ** 31 - 1), "rill/graph.py", lib_version()]
