"""tools/rill_host/build/mpy.py refuses an output folder that overlaps lib/ (the build empties
``out``/rill first), and the tools find the MicroPython unix port in one place."""
import os
import shutil
import subprocess

import pytest

from rill_host import common
from rill_host.build import cli as build_cli
from rill_host.build import mpy as build
from tooltest import ROOT, command


@pytest.fixture
def fake_lib(tmp_path, monkeypatch):
    """build.SRC on a copy of lib/: if the guard ever failed, only the copy is lost."""
    src = tmp_path / "repo" / "lib"
    shutil.copytree(os.path.join(ROOT, "lib", "rill"), str(src / "rill"))
    monkeypatch.setattr(build, "SRC", str(src))
    return src


@pytest.mark.parametrize("where", ["lib", "lib/rill", "repo", "link"])
def test_build_refuses_an_out_that_overlaps_lib(fake_lib, where, capsys):
    repo = fake_lib.parent
    out = {"lib": fake_lib, "lib/rill": fake_lib / "rill", "repo": repo, "link": repo / "link"}[where]
    if where == "link":
        os.symlink(str(fake_lib), str(out))
    before = sorted(os.listdir(str(fake_lib / "rill")))
    with pytest.raises(common.CliError, match="overlaps the source tree"):
        build.build_mpy(str(out))
    with pytest.raises(SystemExit) as e:
        common.cli(lambda argv: build_cli.main(["--out", str(out)]))
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1 and err.count("\n") == 0 and "overlaps the source tree" in err, err
    assert sorted(os.listdir(str(fake_lib / "rill"))) == before


def test_build_into_a_folder_beside_lib_still_works(fake_lib, tmp_path):
    out = tmp_path / "repo" / "build"
    assert build.build_mpy(str(out)) > 10
    assert (out / "rill" / "graph.mpy").exists() and (fake_lib / "rill" / "graph.py").exists()


def test_micropython_is_looked_up_in_one_place(monkeypatch, tmp_path):
    monkeypatch.setenv("MICROPYTHON", "/nonexistent/micropython")
    monkeypatch.setenv("RILL_MICROPYTHON32", "/nonexistent/micropython32")  # else run_example takes the 32-bit one
    assert common.micropython_exe() == "/nonexistent/micropython"
    with pytest.raises(common.CliError, match="no MicroPython unix port at /nonexistent/micropython"):
        common.need_micropython()
    r = subprocess.run(command("run_example.py") + ["--seconds", "1"], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.strip().startswith("rill run: error: no MicroPython unix port at "), \
        r.stderr
    monkeypatch.delenv("MICROPYTHON")
    assert common.micropython_exe() == common.tool("micropython")


def test_a_file_compiles_to_bytecode_for_any_port(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    return 1\n")
    build.compile_file(str(src), str(tmp_path / "m.mpy"), None, ["-s", "m.py"])
    data = (tmp_path / "m.mpy").read_bytes()
    assert data[:1] == b"M" and data[2] >> 2 == 0  # no native architecture in the header
