"""The 32-bit heap bench (tools/bench_heap32.py): its sources lose only their
``@micropython.native`` lines, and a scaffolded app runs and is measured on the 32-bit
webassembly port."""
import os
import shutil
import subprocess

import pytest

import bench_heap32


def test_native_decorators_are_blanked_and_lines_kept():
    src = "import micropython\n\n\nclass A:\n    @micropython.native\n    def f(self):\n        return 1\n"
    out = bench_heap32.NATIVE.sub("", src)
    assert "native" not in out and out.count("\n") == src.count("\n")
    assert out.splitlines()[5] == "    def f(self):"


def test_a_scaffolded_app_is_measured_on_32_bits(tmp_path):
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed")
    try:
        module = bench_heap32.install()
    except bench_heap32.BenchError as e:
        pytest.skip(str(e))
    bench_heap32.stage(str(tmp_path))
    for root, _, files in os.walk(tmp_path / "lib"):
        assert not [f for f in files if f.endswith(".py") and f not in ("socket.py", "usocket.py")], root
    driver = tmp_path / "driver.mjs"
    driver.write_text(bench_heap32.DRIVER.replace('print("peak"', 'print("maxsize", sys.maxsize)\nprint("peak"')
                      % module)
    r = subprocess.run(["node", str(driver), str(tmp_path), "scaffold", "RPI_PICO"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "maxsize 2147483647" in r.stdout, r.stdout  # a 32-bit MicroPython
    peak = int(r.stdout.split("peak ")[1].split()[0])
    assert 10000 < peak < 190 * 1024, peak  # RPI_PICO's heap budget
