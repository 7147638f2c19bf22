"""Core benchmark, run on the MicroPython unix port by tools/bench.py. Prints one JSON line.

Three designs push the same records through the same three functions
(map -> filter -> tap) and are timed in the same run:
  direct          the three calls in a plain loop: the ceiling
  task_per_stage  the idiomatic asyncio design: one task and one queue per stage
  rill            a rill pipeline: source -> transform -> transform -> tap task
"""
import asyncio
import gc
import json
import sys
from collections import deque
from time import ticks_diff, ticks_us

from rill import Pipeline, Ring

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 7  # best of, interleaved: the machine is shared
BATCH = 64  # records a source produces before it yields to the loop
sink = [0]


def to_milli(x):  # map
    return x * 1000 // 1024


def keep_positive(x):  # filter: returns None to drop
    return x if x >= 0 else None


def tap(x):
    sink[0] += x


def direct():
    for i in range(N):
        v = to_milli(i & 0xFFF)
        v = keep_positive(v)
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


async def task_per_stage():
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


def build():
    p = Pipeline("bench")
    p.record("raw", int)
    p.record("milli", int)
    p.record("out", int, Ring(BATCH * 2))
    p.source("raw")
    p.transform("milli", to_milli, "raw")
    p.transform("out", keep_positive, "milli")
    p.tap("out", tap)
    return p.build()


async def rill_run(g, n):
    raw = g.records["raw"]
    emit = g.emit
    i = 0
    while i < n:
        end = i + BATCH
        while i < end:
            emit(raw, i & 0xFFF)
            i += 1
        await asyncio.sleep_ms(0)  # the tap task drains the batch
    await asyncio.sleep_ms(0)


async def rill_timed(g):
    t0 = ticks_us()
    await rill_run(g, N)
    return ticks_diff(ticks_us(), t0)


async def rill_alloc(g, n):
    """Heap bytes allocated while ``n`` records flow (collector off, so nothing is reclaimed)."""
    run = rill_run(g, n)  # the coroutine object is the harness's, not the pipeline's
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    await run
    b = gc.mem_alloc()
    gc.enable()
    return b - a


async def alloc_per_record(g):
    """Steady state: the difference between 2N and N records, per record, so a fixed
    cost of the measuring harness itself cancels out."""
    once = await rill_alloc(g, N)
    twice = await rill_alloc(g, 2 * N)
    return (twice - once) / N


async def task_per_stage_timed():
    t0 = ticks_us()
    await task_per_stage()
    return ticks_diff(ticks_us(), t0)


def main():
    g = build()

    async def setup():
        g.start()
        await rill_run(g, BATCH * 4)  # warm up: tasks started, instance dicts sized

    loop = asyncio.get_event_loop()
    loop.run_until_complete(setup())
    best = {"direct": None, "tasks": None, "rill": None}
    for _ in range(ROUNDS):
        for name in best:
            gc.collect()
            if name == "direct":
                t0 = ticks_us()
                direct()
                us = ticks_diff(ticks_us(), t0)
            elif name == "tasks":
                us = loop.run_until_complete(task_per_stage_timed())
            else:
                us = loop.run_until_complete(rill_timed(g))
            if best[name] is None or us < best[name]:
                best[name] = us
    alloc = loop.run_until_complete(alloc_per_record(g))
    tap_node = g.taps[0]
    assert tap_node.reader.missed == 0 and tap_node.errors == 0, "the tap fell behind"
    g.stop()
    rate = lambda us: N * 1000000 / us
    out = {
        "records": N,
        "rounds": ROUNDS,
        "source_batch": BATCH,
        "hop_rate": round(rate(best["rill"])),
        "direct_rate": round(rate(best["direct"])),
        "task_per_stage_rate": round(rate(best["tasks"])),
        "ratio_vs_direct": round(best["direct"] / best["rill"], 3),
        "ratio_vs_task_per_stage": round(best["tasks"] / best["rill"], 2),
        "alloc_bytes_per_record": alloc,
    }
    print(json.dumps(out))


main()
