"""What the core loads on the MicroPython unix port, in a fresh interpreter: the modules
behind core_import_bytes (make bench) and nothing more. Queue and Mailbox, VirtualClock,
the build-time checks and the text views load only when asked for."""
import os
import subprocess

from common import need_micropython
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
    core = "['rill', 'rill.buffers', 'rill.graph', 'rill.pipeline', 'rill.wake']"
    assert lines[0] == core  # no Queue, no clock module, no checks
    # build() unloaded rill.check, rill.shapes and rill.wiring again; with no host-built module
    # the graph runs the reference dispatch, rill.dispatch
    assert lines[1] == core.replace("'rill.buffers'", "'rill.buffers', 'rill.dispatch'")
    assert lines[2] == ("['rill', 'rill.board', 'rill.buffers', 'rill.dispatch', 'rill.graph', 'rill.pipeline', "
                        "'rill.queues', 'rill.wake'] True True rill.board")
