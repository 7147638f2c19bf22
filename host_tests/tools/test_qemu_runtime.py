"""The emulated-MCU runtime of rill test (tools/rill_host/testing/qemu.py): its declared lists
name real tests, and without a MicroPython source the run says so in one line and passes."""
import os
import re
import subprocess
import sys

from rill_host.testing import qemu
from tooltest import ROOT

LIB = os.path.join(ROOT, "host_tests", "lib")


def _tests(module):
    with open(os.path.join(LIB, module + ".py")) as f:
        return set(re.findall(r"^(?:async )?def (test_\w+)", f.read(), re.M))


def test_the_subsets_and_exclusions_name_existing_tests():
    for module in qemu.SUBSET + qemu.M0_MODULES:
        assert _tests(module), module
    for key in list(qemu.EXCLUDED) + list(qemu.M0_EXCLUDED):
        module, _, test = key.partition("::")
        assert test in _tests(module) if test else _tests(module), key
    assert set(qemu.M0_MODULES) <= set(qemu.SUBSET)


def test_without_a_micropython_source_the_run_says_so_once_and_passes(tmp_path):
    env = dict(os.environ, RILL_QEMU="subset", RILL_MICROPYTHON_SRC=str(tmp_path / "no-micropython"))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "host_tests/lib/test_buffers.py"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("runtime=qemu")]
    assert len(lines) == 1 and "not run" in lines[0] and "no-micropython" in lines[0], lines
    assert re.search(r"^runtime=micropython passed=[1-9]\d* failed=0", r.stdout, re.M)
