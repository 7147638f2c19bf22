"""Issue 21's outage, on MicroPython, driven by rill_host.bench.outage (which owns the broker):

    micropython outage_mp.py HOST PORT SPILL PATH [HZ SECONDS DOWN UP]

A bridge on its default settings (``SPILL`` "default", or "0" for RAM only; its log at
``PATH``) publishes record ``x`` at ``HZ`` (50) QoS 1 for ``SECONDS`` (20) and subscribes
to its own topic, so what reached the broker comes back and is counted by seq. It prints
``stop`` before record DOWN*HZ and ``start`` before UP*HZ (7.5 s, 12.5 s: the host stops
and starts the broker), then one JSON line: records, delivered (distinct seqs back),
duplicates, ``online_ns`` (time.time_ns() when the bridge was online again), the peak
live heap (gc.mem_alloc after a collection, every 20 ms) and the outbox's counters.
"""
import asyncio
import gc
import json
import sys
import time

from rill import Pipeline, Ring
from rill.mqtt import Bridge


class Seen:
    def __init__(self, n):
        self.bits = bytearray(n // 8 + 1)
        self.count = self.dups = 0

    def __call__(self, env):
        s = env["seq"]
        m = 1 << (s & 7)
        if self.bits[s >> 3] & m:
            self.dups += 1
        else:
            self.bits[s >> 3] |= m
            self.count += 1


async def main(host, port, spill, path, hz=50, seconds=20, down=7.5, up=12.5):
    n = int(hz * seconds)
    p = Pipeline("outage")
    p.record("x", float, Ring(32))
    p.source("x")
    p.record("echo", dict, Ring(64))
    seen = Seen(n)
    p.tap("echo", seen)
    mq = Bridge(host, "bench21", port, seq=None, spill=spill, spill_path=path)
    mq.publish("x", "o/{device}/x", qos=1)
    mq.subscribe("o/{device}/x", "echo")
    mq.attach(p)
    g = p.build()
    task = asyncio.create_task(g.run())
    while mq.state != "online":
        await asyncio.sleep_ms(10)
    out = {"online_ns": None, "peak_heap": 0}
    started = [False]

    async def watch():
        while True:
            if started[0] and out["online_ns"] is None and mq.state == "online":
                out["online_ns"] = time.time_ns()
            gc.collect()
            out["peak_heap"] = max(out["peak_heap"], gc.mem_alloc())
            await asyncio.sleep_ms(20)

    w = asyncio.create_task(watch())
    stop, start = int(down * hz), int(up * hz)
    t0 = time.ticks_ms()
    for i in range(n):
        if i == stop:
            print("stop")
        elif i == start:
            print("start")
            started[0] = True
        g.push("x", i * 1.0)
        await asyncio.sleep_ms(max(0, time.ticks_diff(time.ticks_add(t0, (i + 1) * 1000 // hz), time.ticks_ms())))
    t = time.ticks_ms()
    while seen.count < n and time.ticks_diff(time.ticks_ms(), t) < 15000:
        await asyncio.sleep_ms(20)
    w.cancel()
    st = mq.stats()
    await mq.close()
    g.stop()
    task.cancel()
    out.update(records=n, delivered=seen.count, duplicates=seen.dups, dropped=st["dropped"],
               spilled=st.get("spilled", 0), flash_written=st.get("flash_written", 0),
               flash_writes=st.get("flash_writes", 0))
    print(json.dumps(out))


if __name__ == "__main__":
    a = sys.argv[1:]
    spill = None if a[2] == "default" else int(a[2])
    extra = [float(x) for x in a[4:]]
    asyncio.run(main(a[0], int(a[1]), spill, a[3], *extra))
