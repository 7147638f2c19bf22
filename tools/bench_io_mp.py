"""Recorder cost, run on the MicroPython unix port by tools/bench.py. Prints one JSON line.

The core bench's pipeline (map -> filter -> tap, pushed in batches of 64), timed with
and without a Recorder writing every source record into a FileSink (a file in /tmp,
batches of 16 records, rotating at 64 KB), rounds interleaved, best of ROUNDS:
  recorder_cost_ratio               time with the recorder / time without (above 1: slower)
  recorder_us_per_record            the extra time per record, in µs (this machine)
  recorder_alloc_bytes_per_record   the extra heap allocated per record
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

from bench_core_mp import allocated, pipeline, rill_push, timed
from rill.io import frame
from rill.io.mqttsink import MqttSink
from rill.io.recorder import Recorder
from rill.io.sink import FileSink
from rill.mqtt import Bridge

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def per_record(a_once, a_twice, n):
    return (a_twice - a_once) / n


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

    async def run():
        for _, g in runs:
            g.start()
        best = {}
        for _ in range(ROUNDS):
            for name, g in runs:
                us = await timed(rill_push(g, N))
                best[name] = min(best.get(name, us), us)
        extra = []
        for _, g in runs:
            extra.append(per_record(await allocated(rill_push(g, 100)), await allocated(rill_push(g, 200)), 100))
            g.stop()
        return best, extra

    try:
        best, extra = asyncio.run(run())
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
