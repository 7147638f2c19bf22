"""Core benchmark, run on the MicroPython unix port by tools/rill_host/bench/cli.py. Prints one JSON line.

The same records go through the same three functions (map -> filter -> tap), timed in
the same run, rounds interleaved, best of ROUNDS:
  direct          the three calls in a plain loop, as bytecode: the ceiling
  direct_native   the same loop as ``@micropython.native``
  tasks_per_item  one task and one bounded queue per stage, one ``await put()/get()``
                  per item and stage (each await allocates a coroutine)
  tasks_batched   one task per stage over preallocated bounded FIFOs (deques), one
                  allocation-free Signal per side, each stage draining everything
                  available per wake: the strongest task design, the one to beat
  rill push       a rill pipeline driven by ``graph.push(key, value)``
  rill emit       the same pipeline driven by a task source's ``emit(value)``
  rill lineage    the push pipeline built with ``lineage=True`` (rill.lineage)
  rill reference  the push pipeline on the reference dispatch (rill.dispatch)
Every producer hands over BATCH records, then yields to the loop. The rill pipelines
run the fast dispatch a deployed app gets: written on the host (``python3
tools/rill_host/bench/mp/bench_core_mp.py --dispatch DIR``, rill.codegen) and compiled by mpy-cross
-march=x64 (tools/rill_host/bench/cli.py); the reference pipeline is named so that it has none.
"""
import asyncio
import gc
import json
import sys
from collections import deque

import micropython
from benchkit_mp import allocated, best_of

from rill import Pipeline, Ring
from rill.buffers import Signal

N = int(sys.argv[1]) if sys.argv[1:2] != ["--dispatch"] and len(sys.argv) > 1 else 50000
ROUNDS = int(sys.argv[2]) if sys.argv[1:2] != ["--dispatch"] and len(sys.argv) > 2 else 7
BATCH = 64  # records a producer hands over before it yields to the loop
sink = [0]


def to_milli(x):  # map
    return x * 1000 // 1024


def keep_positive(x):  # filter: returns None to drop
    return x if x >= 0 else None


def tap(x):
    sink[0] += x


def direct():
    for i in range(N):
        v = keep_positive(to_milli(i & 0xFFF))
        if v is not None:
            tap(v)


@micropython.native
def direct_native():
    for i in range(N):
        v = keep_positive(to_milli(i & 0xFFF))
        if v is not None:
            tap(v)


class AQueue:
    """A bounded asyncio queue as MicroPython programs write one (cf. micropython-async's Queue)."""

    def __init__(self, maxsize):
        self._q = deque((), maxsize)
        self._n = 0
        self.maxsize = maxsize
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()

    async def put(self, v):
        while self._n >= self.maxsize:
            self._not_full.clear()
            await self._not_full.wait()
        self._q.append(v)
        self._n += 1
        self._not_empty.set()

    async def get(self):
        while not self._n:
            self._not_empty.clear()
            await self._not_empty.wait()
        self._n -= 1
        self._not_full.set()
        return self._q.popleft()


async def tasks_per_item():
    q1, q2, q3 = AQueue(BATCH), AQueue(BATCH), AQueue(BATCH)
    done = asyncio.Event()

    async def source():
        for i in range(N):
            await q1.put(i & 0xFFF)

    async def mapper():
        while True:
            await q2.put(to_milli(await q1.get()))

    async def filt():
        while True:
            v = keep_positive(await q2.get())
            if v is not None:
                await q3.put(v)

    async def sink_task():
        for _ in range(N):
            tap(await q3.get())
        done.set()

    tasks = [asyncio.create_task(f()) for f in (mapper, filt, sink_task)]
    await source()
    await done.wait()
    for t in tasks:
        t.cancel()


class Fifo:
    """A preallocated bounded FIFO between two tasks: a deque, a Signal for the consumer
    (items arrived) and one for the producer (room freed)."""

    def __init__(self, size):
        self.q = deque((), size, 1)
        self.size = size
        self.items = Signal()
        self.room = Signal()


async def stage(src, fn, dst):
    """Drain everything ``src`` holds through ``fn`` into ``dst`` (None: filtered), per wake."""
    q, out, size = src.q, dst.q, dst.size
    while True:
        await src.items
        while q:
            while len(out) == size:  # downstream full: let it run, then go on
                dst.items.set()
                await dst.room
            v = fn(q.popleft())
            if v is not None:
                out.append(v)
        src.room.set()
        dst.items.set()


async def drain_sink(src, n, done):
    q = src.q
    while n > 0:
        await src.items
        while q:
            tap(q.popleft())
            n -= 1
        src.room.set()
    done.set()


async def tasks_batched():
    f1, f2, f3 = Fifo(BATCH), Fifo(BATCH), Fifo(BATCH)
    done = Signal()
    tasks = [asyncio.create_task(stage(f1, to_milli, f2)), asyncio.create_task(stage(f2, keep_positive, f3)),
             asyncio.create_task(drain_sink(f3, N, done))]
    q = f1.q
    i = 0
    while i < N:
        while len(q) == BATCH:
            f1.items.set()
            await f1.room
        end = min(i + BATCH - len(q), N)
        while i < end:
            q.append(i & 0xFFF)
            i += 1
        f1.items.set()
        await asyncio.sleep_ms(0)
    await done
    for t in tasks:
        t.cancel()


def declare(name, **source):
    p = Pipeline(name)
    p.record("raw", int)
    p.record("milli", int)
    p.record("out", int, Ring(BATCH * 2))
    p.source("raw", **source)
    p.transform("milli", to_milli, "raw")
    p.transform("out", keep_positive, "milli")
    p.tap("out", tap)
    return p


def pipeline(name, lineage=False, **source):
    return declare(name, **source).build(lineage=lineage)


async def rill_push(g, n):
    push = g.push
    i = 0
    while i < n:
        end = min(i + BATCH, n)
        while i < end:
            push("raw", i & 0xFFF)
            i += 1
        await asyncio.sleep_ms(0)  # the tap task drains the batch
    await asyncio.sleep_ms(0)


class Driver:
    """A task source that emits ``n`` records each time ``go`` is set, then sets ``done``."""

    def __init__(self):
        self.n = 0
        self.go = Signal()
        self.done = Signal()

    async def __call__(self, emit):
        while True:
            await self.go
            n = self.n
            i = 0
            while i < n:
                end = min(i + BATCH, n)
                while i < end:
                    emit(i & 0xFFF)
                    i += 1
                await asyncio.sleep_ms(0)
            await asyncio.sleep_ms(0)
            self.done.set()


async def rill_emit(driver, n):
    driver.n = n
    driver.go.set()
    await driver.done


def alloc_per_record(g, loop):
    """Steady state: the difference between 2N and N records, per record, so a fixed
    cost of the measuring harness itself cancels out."""
    once = allocated(lambda: rill_push(g, N), loop)
    return (allocated(lambda: rill_push(g, 2 * N), loop) - once) / N


def build_bytes(name):
    """Heap that build() leaves in use for the pipeline: its graph and dispatch (after a
    first build, which interns the build-time modules' names for good)."""
    declare("first").build()
    p = declare(name)
    gc.collect()
    before = gc.mem_alloc()
    g = p.build()
    gc.collect()
    return gc.mem_alloc() - before, g


FAST = {"first": {}, "size": {}, "push": {}, "lineage": {"lineage": True}}  # the pipelines with a host-built dispatch


def write_dispatch(out):
    """On the host: each fast pipeline's rill_dispatch_<name>.py into ``out``."""
    from rill import codegen

    for name, kw in list(FAST.items()) + [("emit", {"task": Driver()})]:
        lineage = kw.pop("lineage", False)
        g = declare(name, **kw).build(lineage=lineage, dispatch=False)
        with open("%s/rill_dispatch_%s.py" % (out, name), "w") as f:
            codegen.module(g, f)


def main():
    graph_bytes, gs = build_bytes("size")
    graph_bytes_ref, gr = build_bytes("sizeref")
    assert (gs.dispatch, gr.dispatch) == ("module", "reference"), (gs.dispatch, gr.dispatch)
    gs = gr = None
    g = pipeline("push")
    driver = Driver()
    ge = pipeline("emit", task=driver)
    gl = pipeline("lineage", lineage=True)
    gref = pipeline("reference")
    for graph in (g, ge, gl):
        assert graph.dispatch == "module", (graph.name, graph.dispatch)  # the host-built module, not the reference
    assert gref.dispatch == "reference"

    async def setup():
        g.start()
        ge.start()
        gl.start()
        gref.start()
        await rill_push(g, BATCH * 4)  # warm up: tasks started, instance dicts sized
        await rill_emit(driver, BATCH * 4)
        await rill_push(gl, BATCH * 4)
        await rill_push(gref, BATCH * 4)

    loop = asyncio.get_event_loop()
    loop.run_until_complete(setup())
    runs = [
        ("direct", direct), ("direct_native", direct_native),
        ("tasks_per_item", tasks_per_item), ("tasks_batched", tasks_batched),
        ("push", lambda: rill_push(g, N)), ("emit", lambda: rill_emit(driver, N)),
        ("lineage", lambda: rill_push(gl, N)), ("reference", lambda: rill_push(gref, N)),
    ]
    best = best_of(runs, ROUNDS, loop)
    alloc = alloc_per_record(g, loop)
    alloc_lineage = alloc_per_record(gl, loop)
    alloc_ref = alloc_per_record(gref, loop)
    for graph in (g, ge, gl, gref):
        t = graph.taps[0]
        assert t.reader.missed == 0 and t.errors == 0, "the tap fell behind"
        graph.stop()
    rate = lambda us: round(N * 1000000 / us)  # noqa: E731
    push = best["push"]
    print(json.dumps({
        "records": N,
        "rounds": ROUNDS,
        "source_batch": BATCH,
        "hop_rate": rate(push),
        "hop_rate_emit": rate(best["emit"]),
        "direct_rate": rate(best["direct"]),
        "direct_native_rate": rate(best["direct_native"]),
        "tasks_per_item_rate": rate(best["tasks_per_item"]),
        "tasks_batched_rate": rate(best["tasks_batched"]),
        "ratio_vs_direct": round(best["direct"] / push, 3),
        "ratio_vs_direct_native": round(best["direct_native"] / push, 3),
        "ratio_vs_task_per_stage": round(best["tasks_per_item"] / push, 2),
        "ratio_vs_tasks_batched": round(best["tasks_batched"] / push, 2),
        "ratio_emit_vs_tasks_batched": round(best["tasks_batched"] / best["emit"], 2),
        "alloc_bytes_per_record": alloc,
        "graph_build_bytes": graph_bytes,
        "graph_build_bytes_reference": graph_bytes_ref,
        "reference_hop_rate": rate(best["reference"]),
        "ratio_vs_tasks_batched_reference": round(best["tasks_batched"] / best["reference"], 2),
        "ratio_vs_direct_native_reference": round(best["direct_native"] / best["reference"], 3),
        "alloc_bytes_per_record_reference": alloc_ref,
        "lineage_cost_ratio": round(best["lineage"] / push, 2),
        "lineage_us_per_record": round((best["lineage"] - push) / N, 3),
        "lineage_alloc_bytes_per_record": alloc_lineage,
    }))


if __name__ == "__main__":  # tools/rill_host/bench/mp/bench_io_mp.py imports its pipeline
    if sys.argv[1:2] == ["--dispatch"]:
        write_dispatch(sys.argv[2])
    else:
        main()
