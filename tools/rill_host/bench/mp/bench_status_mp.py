"""Status record cost, run on the MicroPython unix port by tools/rill_host/bench/cli.py. Prints one JSON line.

The core bench's pipeline with a Status (and its bridge, not connected), after 2,000
records. One publish is what the bridge's tap does with each status record: take
``snapshot()`` and encode it, with the envelope, into the outbox. The baseline is the
same bridge publishing ``g.stats()`` (the graph's own counters, the nearest thing
without rill.status). Best of ROUNDS interleaved rounds of N publishes each:
  status_publish_us                  time of one status publish, in µs (this machine)
  status_publish_ratio_vs_stats      that time / the time of one g.stats() publish
  status_publish_bytes               heap allocated by one status publish (a collection's worth of garbage)
  status_payload_bytes               the JSON payload's size, envelope included
  status_instance_bytes              a Status, once (its histogram, record and task source included)
"""
import asyncio
import gc
import json

from bench_core_mp import BATCH, keep_positive, rill_push, tap, to_milli
from benchkit_mp import allocated, best_of

from rill import Pipeline, Ring
from rill.mqtt import Bridge
from rill.status import Status

N = 20
ROUNDS = 5


def main():
    p = Pipeline("status")
    p.record("raw", int)
    p.record("milli", int)
    p.record("out", int, Ring(BATCH * 2))
    p.source("raw")
    p.transform("milli", to_milli, "raw")
    p.transform("out", keep_positive, "milli")
    p.tap("out", tap)
    p.record("stats", dict)
    p.source("stats")
    mq = Bridge("127.0.0.1", "bench", seq=None, outbox=64, outbox_bytes=64 * 1024)
    gc.collect()
    before = gc.mem_alloc()
    st = Status(p, every_ms=0, bridge=mq)
    gc.collect()
    instance = gc.mem_alloc() - before
    stats_link = mq.publish("stats", "rill/{device}/stats")
    status_link = mq.outs[0]
    g = p.build()

    def status_n():
        for _ in range(N):
            mq.send(status_link, st.snapshot())

    def stats_n():
        for _ in range(N):
            mq.send(stats_link, g.stats())

    async def start():
        g.start()
        await rill_push(g, 2000)
        await asyncio.sleep_ms(5)  # the status probe has run: it knows its graph

    asyncio.get_event_loop().run_until_complete(start())
    best = best_of([("status", status_n), ("stats", stats_n)], ROUNDS)
    per = allocated(status_n) / N
    g.stop()
    payload = len(status_link.codec.wrap("bench", 0, 1, st.snapshot()))
    print(json.dumps({
        "status_publish_us": round(best["status"] / N, 1),
        "status_publish_ratio_vs_stats": round(best["status"] / best["stats"], 2),
        "status_publish_bytes": round(per),
        "status_payload_bytes": payload,
        "status_instance_bytes": instance,
    }))


main()
