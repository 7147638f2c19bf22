"""MQTT benchmark, run on the MicroPython unix port by tools/rill_host/bench/mqtt.py. Prints one JSON line.

usage: micropython bench_mqtt_mp.py PORT [N [ROUNDS [DEFAULT_PORT]]]
(a tuned broker listens on 127.0.0.1:PORT, mosquitto with its default configuration on DEFAULT_PORT)

Same run, same broker, same envelope bytes per message:
  umqtt_qos0_rate   stock umqtt.simple publish loop, QoS 0 (4 small writes per message)
  umqtt_qos1_rate   stock umqtt.simple, QoS 1 (stop-and-wait, Nagle on), for 1 s
  mqtt_qos0_rate    rill.mqtt: records pushed into a pipeline, through a tap, the
                    outbox and the wire, until the broker has answered a PINGREQ sent
                    after the last one (so all of them were processed)
  mqtt_qos1_rate    the same with QoS 1, until every PUBACK is in (tuned: window 256,
                    outbox 512 entries, a 32 KB arena)
  mqtt_qos1_rate_default         the same with the Bridge's default settings
  mqtt_qos1_rate_default_broker  the Bridge's defaults against mosquitto's default
                    configuration (no tuning at all)
  loop_stall_p99_ms 99th percentile lateness of a 1 ms periodic task during the
                    rill QoS 1 run (loop_stall_p99_ms_qos0: during the QoS 0 run)
Rates are messages per second. Every message is built the same way (the JSON
envelope of a float), so the ratio compares transport, not serialization.
"""
import asyncio
import gc
import json
import sys
from array import array
from time import ticks_diff, ticks_us

from umqtt.simple import MQTTClient

from rill import Pipeline, Ring
from rill.mqtt import Bridge
from rill.mqtt.codecs import Json
from rill.mqtt.packet import PINGREQ

PORT = int(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
DEFAULT_PORT = int(sys.argv[4]) if len(sys.argv) > 4 else PORT
TUNED = {"outbox": 512, "outbox_bytes": 32768, "window": 256}
N_DEFAULT = max(1000, N // 4)  # messages per default-settings run (a slow broker makes them long)
BATCH = 16  # records the producer pushes before yielding
HOST = "127.0.0.1"


def raw_qos0(n):
    c = MQTTClient(b"raw0", HOST, PORT)
    c.connect()
    codec = Json()
    t0 = ticks_us()
    for i in range(n):
        c.publish(b"bench/raw0", codec.wrap("bench", 0, i, i * 0.5))
    c.ping()
    c.wait_msg()  # PINGRESP: the broker has processed every publish before it
    dt = ticks_diff(ticks_us(), t0)
    c.disconnect()
    return n * 1000000 / dt


def raw_qos1(ms):
    c = MQTTClient(b"raw1", HOST, PORT)
    c.connect()
    codec = Json()
    n = 0
    t0 = ticks_us()
    while ticks_diff(ticks_us(), t0) < ms * 1000:
        c.publish(b"bench/raw1", codec.wrap("bench", 0, n, n * 0.5), qos=1)
        n += 1
    dt = ticks_diff(ticks_us(), t0)
    c.disconnect()
    return n * 1000000 / dt


class Ticker:
    """A 1 ms periodic task: a histogram (100 us bins) of how late each wake-up is.

    It sleeps for the whole milliseconds left, rounded up, so it never wakes early;
    the figure is therefore pessimistic by up to the 1 ms timer granularity."""

    BIN_US = 100

    def __init__(self, bins=400):
        self.hist = array("i", bytes(4 * bins))
        self.n = 0
        self.run = True

    async def __call__(self):
        due = ticks_us()
        hist = self.hist
        top = len(hist) - 1
        while self.run:
            due += 1000
            wait = ticks_diff(due, ticks_us())
            await asyncio.sleep_ms((wait + 999) // 1000 if wait > 0 else 0)
            late = ticks_diff(ticks_us(), due)
            b = late // self.BIN_US if late > 0 else 0
            hist[b if b < top else top] += 1
            self.n += 1
            if late > 1000:
                due = ticks_us()  # a fresh grid: do not count one stall many times

    def p99_ms(self):
        want = self.n * 99 // 100
        seen = 0
        for i in range(len(self.hist)):
            seen += self.hist[i]
            if seen > want:
                return (i + 1) * self.BIN_US / 1000
        return None


def fresh_device():
    """No spill log left by the previous run (a default-settings run may spill): each run is
    a device that boots with nothing pending, as the figures assume."""
    import os

    try:
        names = os.listdir(".rill")
    except OSError:
        return
    for name in names:
        if name.startswith("bench.spill."):
            os.remove(".rill/" + name)


async def connector(qos, n, ticker=None, settings=TUNED, port=PORT, topic=None):
    fresh_device()
    gc.collect()  # the previous run's arena is garbage: a 32 KB block needs an unfragmented heap
    p = Pipeline("bench")
    p.record("x", float, Ring(256))
    p.source("x")
    mq = Bridge(HOST, "bench", port, client_id="rill%d" % qos, keepalive=30, seq=None, **settings)
    mq.publish("x", topic or "bench/rill%d" % qos, qos=qos)
    mq.attach(p)
    g = p.build()
    run = asyncio.create_task(g.run())
    while mq.state != "online":
        await asyncio.sleep_ms(5)
    ob = mq.outbox
    s = mq.session
    if ticker:
        tt = asyncio.create_task(ticker())
    push = g.push
    t0 = ticks_us()
    i = 0
    while i < n:
        if ob.occupancy() + BATCH < ob.capacity:
            for _ in range(BATCH):
                push("x", i * 0.5)
                i += 1
        await asyncio.sleep_ms(0)
    if qos:
        while ob.acked < n:
            await asyncio.sleep_ms(0)
    else:
        while ob.occupancy():
            await asyncio.sleep_ms(0)
        pongs = s.pongs
        s.push(PINGREQ)
        s.tx.set()
        while s.pongs == pongs:
            await asyncio.sleep_ms(0)
    dt = ticks_diff(ticks_us(), t0)
    if ticker:
        ticker.run = False
        await tt
    missed = g.stats()["nodes"]["tap:mqtt>x"]["missed"]
    await mq.close()
    g.stop()
    run.cancel()
    assert ob.dropped == 0 and missed == 0, (ob.dropped, missed)
    return n * 1000000 / dt


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    rounds = {"umqtt_qos0_rate": [], "mqtt_qos0_rate": [], "mqtt_qos1_rate": [], "loop_stall_p99_ms": [],
              "loop_stall_p99_ms_qos0": [], "mqtt_qos0_ratio_vs_raw": [], "mqtt_qos1_rate_default": [],
              "mqtt_qos1_rate_default_broker": []}
    for _ in range(ROUNDS):  # interleaved, medians reported: the machine is shared
        gc.collect()
        raw = raw_qos0(N)
        ticker = Ticker()
        mine = asyncio.run(connector(0, N, ticker))
        rounds["loop_stall_p99_ms_qos0"].append(ticker.p99_ms())
        rounds["umqtt_qos0_rate"].append(raw)
        rounds["mqtt_qos0_rate"].append(mine)
        rounds["mqtt_qos0_ratio_vs_raw"].append(mine / raw)
        ticker = Ticker()
        rounds["mqtt_qos1_rate"].append(asyncio.run(connector(1, N, ticker)))
        rounds["loop_stall_p99_ms"].append(ticker.p99_ms())
        rounds["mqtt_qos1_rate_default"].append(asyncio.run(connector(1, N_DEFAULT, settings={}, topic="bench/dflt")))
        rounds["mqtt_qos1_rate_default_broker"].append(
            asyncio.run(connector(1, N_DEFAULT, settings={}, port=DEFAULT_PORT, topic="bench/dflt")))
    out = {k: median(v) for k, v in rounds.items()}
    for k in ("umqtt_qos0_rate", "mqtt_qos0_rate", "mqtt_qos1_rate", "mqtt_qos1_rate_default",
              "mqtt_qos1_rate_default_broker"):
        out[k] = round(out[k])
    out["mqtt_qos0_ratio_vs_raw"] = round(out["mqtt_qos0_ratio_vs_raw"], 3)
    out["umqtt_qos1_rate"] = round(raw_qos1(1000), 1)  # stop-and-wait: ~22/s, one round is plenty
    out["mqtt_bench_messages"] = N * ROUNDS
    print(json.dumps(out))


main()
