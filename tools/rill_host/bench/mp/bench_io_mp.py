"""Recorder cost, run on the MicroPython unix port by tools/rill_host/bench/cli.py. Prints one JSON line.

The core bench's pipeline (map -> filter -> tap, pushed in batches of 64), timed with
and without a Recorder writing every source record into a FileSink (a file in /tmp,
batches of 16 records, rotating at 64 KB), rounds interleaved, best of ROUNDS:
  recorder_cost_ratio               time with the recorder / time without (above 1: slower)
  recorder_us_per_record            the extra time per record, in µs (this machine)
  recorder_alloc_bytes_per_record   the extra heap allocated per record
        "recorder_mqtt_cost_ratio": round(best["mqtt"] / best["plain"], 2),
        "recorder_mqtt_us_per_record": round((best["mqtt"] - best["plain"]) / N, 1),
        "recorder_mqtt_alloc_bytes_per_record": round(extra[2] - extra[0]),
  recorder_instance_bytes           a Recorder, its FileSink and the attach, once
  recorder_mqtt_cost_ratio, recorder_mqtt_us_per_record, recorder_mqtt_alloc_bytes_per_record
                                    the same with an MqttSink (rill.io.mqttsink) into a
                                    Bridge's outbox (64 entries, 8 KB; never connected, so
                                    it evicts its oldest entries as a full one does)
"""
import asyncio
import gc
import json
import os
import sys
from time import ticks_us

from bench_core_mp import pipeline, rill_push
from benchkit_mp import allocated, best_of

from rill.io import frame
from rill.io.mqttsink import MqttSink
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from rill.mqtt import Bridge

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def per_record(g, loop):
    """Heap per record in steady state: 200 records less 100, so a fixed cost cancels out."""
    once = allocated(lambda: rill_push(g, 100), loop)
    return (allocated(lambda: rill_push(g, 200), loop) - once) / 100


def pusher(g):
    return lambda: rill_push(g, N)


def main():
    folder = "/tmp/rill-bench-%d" % ticks_us()  # a folder of its own: a rotation lists it
    os.mkdir(folder)
    path = folder + "/capture"
    plain = pipeline("plain")
    recorded = pipeline("recorded")
    gc.collect()
    before = gc.mem_alloc()
    rec = Recorder(FileSink(path, max_bytes=65536, keep=1, every=16)).attach(recorded)
    gc.collect()
    instance = gc.mem_alloc() - before
    over_mqtt = pipeline("mqtt")
    Recorder(MqttSink(Bridge("127.0.0.1", "bench", 1, outbox=64, outbox_bytes=8192, seq=None), seq=None)).attach(
        over_mqtt)
    runs = (("plain", plain), ("recorded", recorded), ("mqtt", over_mqtt))
    loop = asyncio.get_event_loop()

    async def start():
        for _, g in runs:
            g.start()

    try:
        loop.run_until_complete(start())
        best = best_of([(name, pusher(g)) for name, g in runs], ROUNDS, loop)
        extra = [per_record(g, loop) for _, g in runs]
        for _, g in runs:
            g.stop()
    finally:
        for p in frame.paths(path):
            os.remove(p)
        os.rmdir(folder)
    print(json.dumps({
        "recorder_records": rec.records,
        "recorder_cost_ratio": round(best["recorded"] / best["plain"], 2),
        "recorder_us_per_record": round((best["recorded"] - best["plain"]) / N, 1),
        "recorder_alloc_bytes_per_record": round(extra[1] - extra[0]),
        "recorder_instance_bytes": instance,
        "recorder_mqtt_cost_ratio": round(best["mqtt"] / best["plain"], 2),
        "recorder_mqtt_us_per_record": round((best["mqtt"] - best["plain"]) / N, 1),
        "recorder_mqtt_alloc_bytes_per_record": round(extra[2] - extra[0]),
    }))


main()
