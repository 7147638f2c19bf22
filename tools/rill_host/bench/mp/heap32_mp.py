"""Run a deployed app for a while and say whether it met a MemoryError anywhere (run by
tools/rill_host/bench/heap32.py on the 32-bit unix port, as ``heap32.mpy`` beside the app).

    HEAP32_MAIN=<fs>/main.py HEAP32_SECONDS=30 HEAP32_NET=1 micropython32 -X heapsize=60K -c "import heap32"

It executes the board's own main.py (compiled here from source, as a board compiles
it). Before that it counts every dead letter whose reason is a MemoryError (wrapping
``DeadLetters.add``) and, on a networked board, keeps each MQTT Bridge to read its
``memory_errors`` and ``connects`` (rill.mqtt is imported a moment earlier than the
app would: both apps import it before their first collection anyway). ``asyncio.run``
is wrapped so that after HEAP32_SECONDS it prints one line and exits:

    heap32 alive=1 dead_mem=0 bridge_mem=0 connects=1 free=12345 frozen=-

``frozen``: the rill modules taken from the firmware, not the filesystem.

Raised or printed MemoryErrors show in the output, which the host reads too.

With HEAP32_SIM=frozen (the binary is a unix32 firmware with rill frozen into it,
tools/rill_host/build/firmware.py) only the simulator is taken from the frozen copy: it stands for what a
board has in ROM (its ``machine``, the chips), and the app and the rest of rill still
load as the deployed .mpy files.
"""
import asyncio
import gc
import os
import sys

import rill
from rill import buffers

if os.getenv("HEAP32_SIM") == "frozen":
    _lib = rill.__path__
    rill.__path__ = ".frozen/rill"  # for this import only: rill.sim's own path is then .frozen/rill/sim
    import rill.sim  # noqa: F401
    rill.__path__ = _lib

_seen = [0]  # dead letters whose reason is a MemoryError
_bridges = []
_add = buffers.DeadLetters.add


def _dead(self, key, value, reason):
    if isinstance(reason, MemoryError) or reason == "MemoryError":
        _seen[0] += 1
    return _add(self, key, value, reason)


buffers.DeadLetters.add = _dead
if os.getenv("HEAP32_NET") == "1":
    from rill.mqtt import bridge as _bridge

    _init = _bridge.Bridge.__init__

    def _keep(self, *args, **kw):
        _init(self, *args, **kw)
        _bridges.append(self)

    _bridge.Bridge.__init__ = _keep

_run = asyncio.run
_seconds = int(os.getenv("HEAP32_SECONDS") or "30")


def _report(task):
    """The line, printed piece by piece from objects that exist: the report allocates
    next to nothing, so a heap the app just fits is not failed by the harness."""
    gc.collect()
    mem = con = 0
    for b in _bridges:
        mem += b.memory_errors
        con += b.connects
    print("heap32 alive=", 0 if task.done() else 1, " dead_mem=", _seen[0], " bridge_mem=", mem, " connects=", con,
          " free=", gc.mem_free(), " frozen=", sep="", end="")
    n = 0
    for k in sys.modules:  # rill modules from the firmware (a frozen module's __file__ is relative)
        if (k == "rill" or k.startswith("rill.")) and not getattr(sys.modules[k], "__file__", "/").startswith("/"):
            print("," if n else "", k, sep="", end="")
            n += 1
    print("" if n else "-")


def _timed(coro):
    async def both():
        task = asyncio.create_task(coro)
        await asyncio.sleep(_seconds)
        _report(task)
        sys.exit(0)

    return _run(both())


asyncio.run = _timed


def _code(path):
    with open(path) as f:
        return compile(f.read(), "main.py", "exec")  # the text is garbage once compiled


exec(_code(os.getenv("HEAP32_MAIN")), {"__name__": "__main__"})
