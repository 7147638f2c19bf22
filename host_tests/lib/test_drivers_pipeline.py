"""Drivers wired into pipelines: a flaky I2C sensor is counted and stands in its
``missing`` value, a bouncy button becomes clean presses, Wi-Fi status is a record.

Heap: the whole core, the simulated board (host-only code) and four drivers, each
compiled from source on a 64-bit port (objects twice an MCU's size), leave the default
128 KB heap too fragmented to build a graph. A board loads .mpy and no simulator; the
drivers' own heap cost as .mpy is measured separately.
"""
import asyncio

from rill import EMPTY, Pipeline, Ring, board
from rill.clock import VirtualClock
from rill.drivers.bme280 import BME280
from rill.drivers.button import debounce
from rill.drivers.sht3x import SHT3x
from rill.wifi import WiFi
from testkit import run

MP_HEAPSIZE = "256K"

MISSING = {"temperature_c": -999.0, "pressure_hpa": -999.0, "humidity_pct": -999.0}


def _values(rec):
    r = rec.reader()
    out = []
    while True:
        v = r.read()
        if v is None or v is EMPTY:
            return out
        out.append(v)


def test_i2c_sensors_in_a_pipeline_survive_a_flaky_bus():
    clock = VirtualClock()
    b = board.load("RPI_PICO", clock=clock)  # the simulated sensors, and the drivers by default, keep its time
    env = BME280(b.i2c())
    air = SHT3x(b.i2c(), repeatability="low")
    p = Pipeline("greenhouse")
    p.record("env", BME280.SHAPE, Ring(8))
    p.record("celsius", float, Ring(8))
    p.record("air", SHT3x.SHAPE)
    p.source("env", env.read, every_ms=1000, missing=MISSING, backoff_ms=(1000, 4000), name="bme280")
    p.source("air", air.read, every_ms=2000, name="sht3x")
    p.transform("celsius", lambda e: None if e is MISSING else e["temperature_c"], "env", name="celsius")

    async def main():
        g = p.build(board=b)
        b.sim.bme280.inject("nack", times=2)
        b.sim.bme280.set(temperature=19.5)
        g.start(clock)
        await clock.advance(4000)  # fails at 1 s and 2 s, backs off to 4 s, then reads
        b.sim.bme280.set(temperature=21.0)
        await clock.advance(2000)
        g.stop()
        return g

    g = run(main())
    src = [n for n in g.nodes if n.name == "bme280"][0]
    assert src.errors == 2 and src.restarts == 1 and env.failures == 2
    assert "i2c error" in str(src.error)
    vals = _values(g.records["env"])
    assert vals[:2] == [MISSING, MISSING]
    assert [round(c, 2) for c in _values(g.records["celsius"])] == [19.5, 21.0, 21.0]
    assert abs(g.records["air"].value["temperature_c"] - 22.0) < 0.01


def test_bouncy_button_becomes_clean_presses():
    b = board.load("RPI_PICO_W")
    btn = b.button(settle_ms=15)
    pin = b.sim.pin(15)
    p = Pipeline("button")
    p.record("edge", tuple, Ring(32))
    p.record("pressed", bool, Ring(8))
    p.source("edge", task=btn.run, name="button")
    p.transform("pressed", debounce(10), "edge", name="debounce")

    async def main():
        g = p.build(board=b)
        g.start()
        for _ in range(2):  # two presses, each bouncing on the way down and up
            await asyncio.sleep_ms(5)
            pin.burst(5)  # ends low: pressed
            await asyncio.sleep_ms(40)
            pin.burst(3)  # ends high: released
            await asyncio.sleep_ms(40)
        g.stop()
        return g

    g = run(main())
    assert _values(g.records["pressed"]) == [True, False, True, False]
    assert len(_values(g.records["edge"])) == 2 * (5 + 3) + 4  # every edge plus one settled sample per burst
    assert btn.overruns == 0


def test_wifi_status_is_a_record():
    b = board.load("RPI_PICO")
    p = Pipeline("net")
    p.record("wifi", WiFi.SHAPE)
    p.source("wifi", task=b.wifi("net", "pw").run, name="wifi")

    async def main():
        g = p.build(board=b)
        g.start()
        await asyncio.sleep_ms(5)
        g.stop()
        return g

    g = run(main())
    assert g.records["wifi"].value["state"] == "unavailable"
