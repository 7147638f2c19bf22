"""What the core loads on the MicroPython unix port, in a fresh interpreter: the modules
behind core_import_bytes (make bench) and nothing more. Queue and Mailbox, VirtualClock,
the build-time checks and the text views load only when asked for."""
import os
import subprocess

import pytest

from rill_host.bench import MP
from rill_host.common import need_micropython
from tooltest import ROOT

SCRIPT = """
import sys
def rill_modules():
    return sorted(k for k in sys.modules if k.startswith("rill"))
import rill, rill.graph
print(rill_modules())
p = rill.Pipeline("three")
p.record("a", int)
p.record("b", int)
p.record("c", int, rill.Ring(4))
p.source("a")
p.transform("b", lambda v: v * 3, "a")
p.transform("c", lambda v: v, "b")
p.tap("c", print)
g = p.build()
g.push("a", 1)
print(rill_modules())
from rill import Mailbox, Queue, QueueFull
from rill import board
print(rill_modules(), issubclass(Mailbox, Queue), issubclass(QueueFull, Exception), board.__name__)
"""


def test_the_core_loads_only_its_modules_and_the_rest_on_demand():
    exe = need_micropython()
    r = subprocess.run([exe, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "lib")))
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3, r.stdout + r.stderr
    core = "['rill', 'rill.buffers', 'rill.graph']"
    assert lines[0] == core  # no Queue, no clock module, no checks
    # build() unloaded rill.check, rill.shapes and rill.wiring again; with no host-built module
    # the graph runs the reference dispatch, rill.dispatch
    assert lines[1] == core.replace("'rill.buffers'", "'rill.buffers', 'rill.dispatch'")
    assert lines[2] == ("['rill', 'rill.board', 'rill.buffers', 'rill.dispatch', 'rill.graph', "
                        "'rill.queues'] True True rill.board")


def _runs_in(tmp_path, exe, arch, kb):
    """tools/rill_host/bench/mp/small_heap_mp.py (import the core, build and run a 3-stage pipeline) with
    rill's top-level modules as .mpy for ``arch``, in a ``kb`` KB heap: what it said."""
    from rill_host.build.mpy import compile_file

    out = tmp_path / arch
    lib = os.path.join(ROOT, "lib")
    for name in sorted(os.listdir(os.path.join(lib, "rill"))):
        if name.endswith(".py"):
            compile_file("rill/" + name, str(out / "rill" / (name[:-3] + ".mpy")), arch, cwd=lib)
    compile_file("small_heap_mp.py", str(out / "small_heap.mpy"), arch, cwd=MP)
    r = subprocess.run([exe, "-X", "heapsize=%dK" % kb, "-c", "import small_heap"], cwd=str(out), capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, MICROPYPATH=".frozen:"))  # as rill bench runs it
    return (r.stdout + r.stderr).strip().splitlines()[-1:]


def test_a_3_stage_pipeline_builds_and_runs_in_32k_on_the_64_bit_port(tmp_path):
    """make bench's min_heap_kb (runs_in_32k_heap), the target of issue 17."""
    assert _runs_in(tmp_path, need_micropython(), "x64", 32) == ["ok"]


def test_a_3_stage_pipeline_builds_and_runs_in_20k_on_the_32_bit_port(tmp_path):
    """make bench's min_heap_kb_32bit, the target of issue 17."""
    from rill_host.common import micropython32_exe

    exe = micropython32_exe()[0]
    if exe is None:
        pytest.skip("no 32-bit MicroPython (RILL_MICROPYTHON32, or ../shared/micropython/micropython32)")
    assert _runs_in(tmp_path, exe, "x86", 20) == ["ok"]
