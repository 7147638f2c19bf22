"""SHT3x: the datasheet's CRC example, a round trip, and faults (bad CRC, NACK, stuck bus)."""
import errno

from rill.drivers.sensor import SensorError
from rill.drivers.sht3x import SHT3x, crc8
from rill.sim import machine
from rill.sim.sht3x import SHT3xModel
from testkit import heap_locked, raises


class Clock:
    """Milliseconds that pass only when a test says so: the driver and the model share it."""

    def __init__(self):
        self.t = 1000

    def now(self):
        return self.t


def _sensor(**kw):
    clock = Clock()
    bus = machine.I2C(0)
    model = bus.attach(0x44, SHT3xModel(now=clock.now))
    rh = SHT3x(bus, now=clock.now, **kw)
    rh.clock = clock
    return bus, model, rh


def measure(rh):
    """read() is split-phase: start a conversion, let it finish, fetch it."""
    rh.read()
    rh.clock.t += rh.conversion_ms
    return rh.read()


def test_crc_matches_datasheet_example():
    assert crc8(b"\xbe\xef") == 0x92
    assert crc8(bytearray(b"\x00\xbe\xef\x00"), 1) == 0x92
    assert crc8(b"\x00\x00") == 0x81


def test_crc_does_not_allocate():
    buf = bytearray(b"\xbe\xef\x92")
    assert heap_locked(lambda: crc8(buf, 0, 2)) == 0x92


def test_round_trip_physical_value_to_reading():
    _, model, rh = _sensor()
    for t, h in ((-20.0, 5.0), (0.0, 50.0), (22.5, 41.2), (60.0, 99.0)):
        model.set(temperature=t, humidity=h)
        r = measure(rh)
        assert abs(r["temperature_c"] - t) < 0.01, r
        assert abs(r["humidity_pct"] - h) < 0.01, r
    assert rh.samples == 4


def test_read_is_split_phase_and_never_waits_for_the_chip():
    for mode in ("high", "medium", "low"):
        _, model, rh = _sensor(repeatability=mode)
        assert rh.read() is None  # started
        rh.clock.t += rh.conversion_ms - 1
        assert rh.read() is None  # too soon: no bus traffic, no failure
        rh.clock.t += 1
        assert rh.read() is not None
        assert rh.failures == 0
    with raises(ValueError, match="repeatability"):
        _sensor(repeatability="max")


def test_bad_crc_is_a_counted_failure_not_a_crash():
    _, model, rh = _sensor()
    rh.read()
    rh.clock.t += rh.conversion_ms
    model.inject("crc", times=1)
    with raises(SensorError, match="CRC mismatch on temperature word"):
        rh.read()
    assert rh.failures == 1 and "CRC" in rh.last_error
    rh.clock.t += rh.conversion_ms
    assert rh.read() is not None  # the next sample is clean
    assert rh.samples == 1


def test_nack_and_stuck_bus_are_counted_failures():
    bus, model, rh = _sensor()
    model.inject("nack", times=1)
    with raises(SensorError, match=str(errno.ENODEV)):
        rh.read()
    model.inject("stuck", times=1)
    with raises(SensorError, match=str(errno.ETIMEDOUT)):
        rh.read()
    bus.detach(0x44)
    with raises(SensorError, match="sht3x@0x44: i2c error"):
        rh.read()
    assert rh.failures == 3
    bus.attach(0x44, model)
    assert measure(rh) is not None


def test_the_model_nacks_a_read_before_the_conversion_is_done():
    bus, model, _ = _sensor()
    buf = bytearray(6)
    with raises(OSError):
        bus.readfrom_into(0x44, buf)  # nothing pending
    bus.writeto(0x44, b"\x24\x00")
    with raises(OSError):
        bus.readfrom_into(0x44, buf)  # too early: 12 ms typical
    with raises(OSError):
        bus.writeto(0x44, b"\x12\x34")  # unknown command


def test_read_never_sleeps():
    _, model, rh = _sensor()
    import time

    t0 = time.ticks_ms()
    for _ in range(20):
        rh.read()
        rh.clock.t += rh.conversion_ms
    assert time.ticks_diff(time.ticks_ms(), t0) < 160  # 20 samples, not 20 x 16 ms (a loaded host gets slack)
    assert rh.samples == 19 and rh.failures == 0


def test_reads_that_keep_coming_too_soon_fail_saying_why_and_the_sensor_keeps_no_text_for_it():
    """The third read in a row before the conversion ends fails, naming the conversion
    time; the text is formatted only then (a driver keeps no message per instance)."""
    _, _, rh = _sensor(repeatability="medium")
    assert rh.read() is None  # started
    assert rh.read() is None and rh.read() is None  # too soon, twice
    assert not [v for v in rh.__dict__.values() if isinstance(v, str) and "conversion" in v]
    with raises(SensorError, match="no value in 3 reads in a row: read again before the 7 ms conversion"):
        rh.read()
    assert rh.failures == 1 and "7 ms" in rh.last_error
