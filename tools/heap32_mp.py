"""Peak live heap of an app on a 32-bit MicroPython (run by tools/bench_heap32.py on the
webassembly port, where the app's files are under /app and rill's under /lib).

``measure(kind, board_id)`` builds the app as its ``main()`` would, on simulated hardware,
runs it for ``RUN_MS`` of real time against a network that refuses every connection (so
the bridge keeps its outbox and retries), and samples ``gc.mem_alloc()`` after a
collection at every step. The simulator's own heap (rill.sim and its device models: a
real board has real hardware instead) is measured on its own and left out.
"""
import asyncio
import gc

RUN_MS = 3000
STEP_MS = 20


class Peak:
    def __init__(self):
        gc.collect()
        self.base = gc.mem_alloc()
        self.peak = 0

    def sample(self):
        gc.collect()
        used = gc.mem_alloc() - self.base
        if used > self.peak:
            self.peak = used
        return used


def _example(board_id, peak):
    import app  # firmware/app.py: imports rill.mqtt first, as on a board

    cfg = app.load_config("/no-config.json")
    cfg["board"], cfg["device"], cfg["console"] = board_id, "bench", False
    mq = app.bridge(cfg, "bench")
    peak.sample()
    from rill import board as boards

    before = peak.sample()
    bd = boards.load(board_id, sim=True)
    sim = peak.sample() - before
    return app.pipeline(bd, cfg, mq).build(bd), sim


def _scaffold(board_id, peak):
    import app  # tools/rill_host/template/app.py, as `rill new` writes it

    cfg = {"board": board_id, "device": "bench", "every_ms": 100, "window": 5,
           "mqtt": {"host": "127.0.0.1", "port": 1883, "topic": "app/{device}/temp"}, "wifi": None}
    from rill import board as boards

    before = peak.sample()
    bd = boards.load(board_id, sim=True)
    sim = peak.sample() - before
    mq = app.bridge(cfg) if bd.has("network") else None
    p = app.pipeline(bd, cfg)
    if mq is not None:
        mq.attach(p)
    return p.build(board=bd), sim


def exec_kept(n=10):
    """Bytes this port keeps for good per ``exec`` of a 1 KB function definition, after
    a collection (``build()`` compiles one per source: rill.codegen). The unix port
    keeps none (host_tests/lib/test_codegen.py)."""
    text = "def f(v):\n" + " v = v + 1\n" * 90
    exec(text, {})
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(n):
        exec(text, {})
    gc.collect()
    return (gc.mem_alloc() - before) // n


def unload_kept():
    """Bytes this port keeps after importing rill.codegen and unloading it again, as
    ``build()`` does (its second time: its names are interned by then). The unix port
    keeps none."""
    import sys

    import rill

    for _ in range(2):
        gc.collect()
        before = gc.mem_alloc()
        __import__("rill.codegen")
        sys.modules.pop("rill.codegen")
        rill.__dict__.pop("codegen", None)
        gc.collect()
    return gc.mem_alloc() - before


async def measure(kind, board_id):
    if board_id == "exec":  # not a board: what the port itself keeps
        return exec_kept()
    if board_id == "unload":
        return unload_kept()
    peak = Peak()
    g, sim = (_example if kind == "example" else _scaffold)(board_id, peak)
    g.start()
    for _ in range(RUN_MS // STEP_MS):
        peak.sample()
        await asyncio.sleep_ms(STEP_MS)
    g.stop()
    await asyncio.sleep_ms(STEP_MS)
    return peak.peak - sim
