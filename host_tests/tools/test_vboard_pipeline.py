"""A rill pipeline imported and run on the virtual board, in the board's heap (RPI_PICO:
190K budget), with the simulated hardware rill.board picks by itself."""
PIPELINE = """
import asyncio, gc
gc.collect()
free0 = gc.mem_free()
from rill import Pipeline, Ring
from rill import board as boards
from rill.drivers.bme280 import BME280
from rill.filters import sliding_window_moving_average

bd = boards.load("RPI_PICO")
env = BME280(bd.i2c())
bd.sim.bme280.set(temperature=21.5)
seen = []
p = Pipeline("t")
p.record("env", BME280.SHAPE)
p.record("t", float)
p.record("avg", float, Ring(8))
p.source("env", env.read, every_ms=20)
p.transform("t", lambda e: e["temperature_c"], "env")
p.transform("avg", sliding_window_moving_average(4, 1), "t")
p.tap("avg", seen.append)
g = p.build(bd)

async def main():
    asyncio.create_task(g.run())
    await asyncio.sleep_ms(300)
    g.stop()

asyncio.run(main())
gc.collect()
print("board", bd)
print("samples", len(seen), "last %.2f" % seen[-1])
print("used", free0 - gc.mem_free(), "of", gc.mem_free() + gc.mem_alloc())
"""


def test_pipeline_runs_in_the_board_heap(fresh_vboard):
    b = fresh_vboard("RPI_PICO").start()
    r = b.mpremote("exec", PIPELINE, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(line.split(" ", 1) for line in r.stdout.strip().splitlines())
    assert lines["board"] == "<Board RPI_PICO (RP2040, simulated)>"
    samples, last = lines["samples"].split(" last ")
    assert int(samples) >= 5
    assert abs(float(last) - 21.5) < 0.1
    total = int(lines["used"].split(" of ")[1])
    assert total <= 190 * 1024 * 1.5  # RPI_PICO's budget, scaled for 64-bit objects


def test_memory_error_when_the_heap_is_exceeded(fresh_vboard):
    b = fresh_vboard("RPI_PICO").start()
    r = b.mpremote("exec", "x = bytearray(400 * 1024)")
    assert r.returncode == 1
    assert "MemoryError" in r.stdout
    r = b.mpremote("exec", "print('fine after')")
    assert r.stdout.strip() == "fine after"
