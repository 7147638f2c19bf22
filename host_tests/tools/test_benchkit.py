"""tools/rill_host/bench/mp/benchkit_mp.py, the MicroPython-side benches' shared rounds and heap count, on
the unix port: a coroutine run is timed to its end on the loop, every run is in every
round, and an allocating run is counted."""
import json
import os
import subprocess

from rill_host.bench import MP as TOOLS
from rill_host.common import need_micropython
from tooltest import ROOT

SCRIPT = """
import asyncio, json
from benchkit_mp import allocated, best_of
seen = []
def direct():
    seen.append("d")
async def slow():
    seen.append("s")
    await asyncio.sleep_ms(20)
loop = asyncio.get_event_loop()
best = best_of([("direct", direct), ("slow", slow)], 3, loop)
print(json.dumps({"best": best, "seen": "".join(seen),
                  "list": allocated(lambda: [0] * 100), "nothing": allocated(lambda: None)}))
"""


def test_rounds_interleave_time_coroutines_on_the_loop_and_count_the_heap():
    r = subprocess.run([need_micropython(), "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=".frozen:" + TOOLS))
    out = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else r.stderr
    assert out["seen"] == "dsdsds", out
    assert out["best"]["slow"] >= 20000 > out["best"]["direct"], out
    assert out["list"] >= 800 and out["nothing"] == 0, out
