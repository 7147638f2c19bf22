"""The 32-bit heap bench (tools/rill_host/bench/heap32.py) on the 32-bit MicroPython: a deployed
app passes a probe in a roomy heap and fails one in a tight heap (the MemoryError is
seen), and the import figures meet issue 17's targets."""
import os
import shutil
import tempfile

import pytest

from rill_host.bench import heap32 as bench_heap32
from rill_host.build.mpy import build_mpy

EXE = bench_heap32.micropython32()
needs32 = pytest.mark.skipif(EXE is None, reason="no 32-bit MicroPython (RILL_MICROPYTHON32 or "
                                                 "../shared/micropython/micropython32)")


@needs32
def test_a_deployed_project_is_probed_on_32_bits(tmp_path):
    fs = bench_heap32.deploy(str(tmp_path), "scaffold", "RPI_PICO", 1)  # no network: no broker needed
    ok, said = bench_heap32.probe(EXE, fs, 160, False, 3, "t-roomy")
    assert ok, said
    assert said.startswith("heap32 alive=1 dead_mem=0")
    ok, said = bench_heap32.probe(EXE, fs, 24, False, 3, "t-tight")
    assert not ok and said == "MemoryError", said


@pytest.fixture(scope="module")
def mpy():
    if EXE is None:
        pytest.skip("no 32-bit MicroPython")
    with tempfile.TemporaryDirectory() as out:
        build_mpy(out, bench_heap32.ARCH, deps=True)
        yield out


# issue 17's targets: core import <= 8 KB, rill.mqtt beyond the core <= 16 KB (32-bit, as .mpy)
@pytest.mark.xfail(strict=True, reason="not met: 9,568 B in make bench (9,536 B with a shorter .mpy path; 8,736 B "
                                       "with room in the interned-name pool); see issue 17's note")
def test_core_import_meets_its_target(mpy):
    assert bench_heap32.heap_cost(EXE, mpy, bench_heap32.CORE) <= 8 * 1024


def test_mqtt_import_meets_its_target(mpy):
    """15,520 B when met (15.2 KB; was 31,296, 27,616 before prep.py/start.py/close.py, 22,048 before the
    h-mqtt commits, which say what each change saved). Part of that last step is a qstr pool of
    320 entries (~2.2 KB) the import no longer needs: it stays under 300 interned names after the
    core (294 after it, 6 to spare), so a few more names in the core or in rill.mqtt bring it back."""
    assert bench_heap32.heap_cost(EXE, mpy, ["rill.mqtt"], after=bench_heap32.CORE) <= 16 * 1024


@needs32
def test_the_app_figures_take_only_the_simulator_from_the_firmware(tmp_path):
    """The board-like probe: rill.sim frozen (a board's machine and chips are in ROM), the
    app and the rest of rill from the deployed .mpy files; a probe that took any other rill
    module from the firmware fails the bench instead of measuring it."""
    from rill_host.build import firmware

    if firmware.missing_tools("unix32"):
        pytest.skip("cannot build unix32 here: missing %s" % ", ".join(firmware.missing_tools("unix32")))
    exe = bench_heap32.sim_firmware()
    fs = bench_heap32.deploy(str(tmp_path), "scaffold", "RPI_PICO", 1)
    ok, said = bench_heap32.probe(exe, fs, 160, False, 3, "t-sim", "sim-frozen")
    assert ok, said
    frozen = said.split("frozen=")[1].split(",")
    assert "rill.sim.hardware" in frozen and all(m.startswith("rill.sim") for m in frozen), said
    ok, said = bench_heap32.probe(exe, fs, 160, False, 3, "t-sim-mpy", "mpy")
    assert ok and said.endswith("frozen=-"), said  # the same app, the simulator as .mpy
    shutil.rmtree(os.path.join(fs, "lib", "rill"))  # now rill can only come from the firmware
    with pytest.raises(bench_heap32.BenchError, match="rill.graph"):
        bench_heap32.probe(exe, fs, 160, False, 3, "t-leak", "sim-frozen")
