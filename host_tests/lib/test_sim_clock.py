"""Simulation follows the clock: on the ``board`` fixture, whose devices keep the test's
VirtualClock, every simulated driver delivers values inside a pipeline; a sensor timed
by a clock that does not move fails with a reason instead of staying silent."""
from rill import EMPTY, Pipeline, Ring
from rill.clock import VirtualClock
from rill.drivers.bme280 import BME280
from rill.drivers.sensor import SensorError
from rill.drivers.sht3x import SHT3x
from testkit import raises, run

MP_HEAPSIZE = "256K"  # the simulator, four drivers and a graph, on a 64-bit port


def _count(rec):
    r, n = rec.reader(), 0
    while True:
        v = r.read()
        if v is None or v is EMPTY:
            return n
        n += 1


def test_every_simulated_driver_delivers_values_in_virtual_time(board, clock):
    board.sim.bme280.ready_after_ms = 40  # the first measurement completes 40 ms of board time later
    board.sim.adc(26).set_voltage(1.2)
    btn = board.button(settle_ms=5)
    p = Pipeline("all")
    p.record("env", BME280.SHAPE, Ring(16))
    p.record("air", SHT3x.SHAPE, Ring(16))
    p.record("volts", float, Ring(16))
    p.record("chip", float, Ring(16))
    p.record("edge", tuple, Ring(16))
    p.source("env", BME280(board.i2c()).read, every_ms=1000, name="bme280")
    p.source("air", SHT3x(board.i2c()).read, every_ms=1000, name="sht3x")
    p.source("volts", board.analog(26).read, every_ms=1000, name="analog")
    p.source("chip", board.mcu_temp().read, every_ms=1000, name="mcu_temp")
    p.source("edge", task=btn.run, name="button")
    g = p.build(board=board)

    async def main():
        g.start(clock)
        await clock.advance(2000)
        board.sim.pin(15).drive(0)  # a press
        await clock.advance(3000)
        g.stop()

    run(main())
    for key in ("env", "air", "volts", "chip", "edge"):
        assert _count(g.records[key]) >= 1, (key, g.stats())
    assert abs(g.records["air"].value["temperature_c"] - 22.0) < 0.01
    assert abs(g.records["volts"].value - 1.2) < 0.01
    assert all(n.errors == 0 for n in g.nodes), [(n.name, n.last_error) for n in g.nodes if n.errors]


def test_the_board_follows_the_clock_it_is_given(board, clock):
    assert board.sim.clock is clock and board.i2c().now() == clock.now()
    assert board.sim.sht3x.now() == board.sim.bme280.now() == clock.now()
    other = VirtualClock(start=5000)
    board.sim.follow(other)
    assert board.i2c().now() == board.sim.sht3x.now() == 5000


def test_a_sensor_on_a_clock_that_does_not_move_fails_with_a_reason(board):
    air = SHT3x(board.i2c())  # timed by the board's clock, which nobody advances
    assert air.read() is None  # starts a conversion
    with raises(SensorError, match="pipeline's clock"):
        for _ in range(3):
            air.read()
    assert air.failures == 1


def test_a_chip_that_never_measures_fails_with_a_reason(board):
    board.sim.bme280.ready_after_ms = 50  # never reached: the board's clock stands still
    env = BME280(board.i2c())
    with raises(SensorError, match="completed no measurement"):
        for _ in range(3):
            env.read()
