"""BME280: the datasheet's compensation example, a round trip through the simulated
chip, "not ready", and bus faults counted rather than crashing."""
import errno

from rill import board
from rill.drivers.bme280 import BME280, compensate_h, compensate_p, compensate_t, parse_calibration
from rill.drivers.sensor import SensorError
from rill.sim import machine
from rill.sim.bme280 import CALIBRATION, BME280Model, _humidity, _temperature
from testkit import raises

# BMP280/BME280 datasheet worked example: trimming words and raw readings
CAL = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000, 75, 362, 0, 333, 50, 30)


def test_temperature_matches_datasheet_example():
    t, t_fine = compensate_t(CAL, 519888)
    assert t == 2508  # 25.08 °C
    assert t_fine == 128422


def test_pressure_matches_datasheet_example():
    p = compensate_p(CAL, 415148, 128422)
    assert abs(p / 256 - 100653.27) < 0.05  # Pa; the datasheet's floating-point result is 100653.27
    assert p // 256 == 100653


def test_pressure_division_by_zero_guard():
    cal = CAL[:3] + (0,) + CAL[4:]  # dig_P1 = 0 makes the divisor 0
    assert compensate_p(cal, 415148, 128422) == 0


def test_calibration_bytes_parse_including_signed_12_bit_h4_h5():
    a = bytearray(26)
    for i, v in enumerate(CAL[:12]):
        v &= 0xFFFF
        a[2 * i], a[2 * i + 1] = v & 0xFF, v >> 8
    a[25] = 75
    # H2 = -300, H3 = 7, H4 = -349 (0xEA3), H5 = -30 (0xFE2), H6 = -5
    b = bytearray([0xD4, 0xFE, 7, 0xEA, 0x23, 0xFE, 0xFB])
    cal = parse_calibration(a, b)
    assert cal[:12] == CAL[:12]
    assert cal[12:] == (75, -300, 7, -349, -30, -5)


def test_humidity_agrees_with_the_floating_point_formula_and_clamps():
    t_fine = 128422
    for adc_h in (24000, 29492, 36000, 39000):
        want = _humidity(CALIBRATION, adc_h, t_fine)
        assert abs(compensate_h(CAL, adc_h, t_fine) / 1024 - want) < 0.05, adc_h
    assert compensate_h(CAL, 0, t_fine) == 0
    assert compensate_h(CAL, 65535, t_fine) == 100 * 1024


def test_temperature_agrees_with_the_floating_point_formula():
    for adc_t in (400000, 519888, 600000):
        t, _ = compensate_t(CAL, adc_t)
        assert abs(t / 100 - _temperature(CALIBRATION, adc_t)[0]) < 0.011


def test_round_trip_physical_value_to_reading():
    bus = machine.I2C(0)
    model = bus.attach(0x76, BME280Model())
    env = BME280(bus)
    for t, p, h in ((-10.0, 900.0, 10.0), (0.0, 1013.25, 50.0), (25.0, 1050.0, 90.0), (40.0, 980.5, 33.3)):
        model.set(temperature=t, pressure=p, humidity=h)
        r = env.read()
        assert abs(r["temperature_c"] - t) < 0.01, r
        assert abs(r["pressure_hpa"] - p) < 0.01, r
        assert abs(r["humidity_pct"] - h) < 0.05, r
    assert env.samples == 4 and env.failures == 0


def test_configures_normal_mode_and_reads_into_preallocated_buffers():
    calls = []

    class Spy:
        def __init__(self, bus):
            self.bus = bus

        def readfrom_mem_into(self, addr, reg, buf):
            calls.append(("read", reg, len(buf), id(buf)))
            self.bus.readfrom_mem_into(addr, reg, buf)

        def writeto_mem(self, addr, reg, buf):
            calls.append(("write", reg, buf[0]))
            self.bus.writeto_mem(addr, reg, buf)

    bus = machine.I2C(0)
    model = bus.attach(0x77, BME280Model())
    env = BME280(Spy(bus), addr=0x77, standby_ms=500, oversampling=2)
    env.read()
    env.read()
    writes = [c for c in calls if c[0] == "write"]
    assert writes == [("write", 0xF5, 4 << 5), ("write", 0xF2, 2), ("write", 0xF4, (2 << 5) | (2 << 2) | 3)]
    data_reads = [c for c in calls if c[0] == "read" and c[1] == 0xF7]
    assert len(data_reads) == 2 and data_reads[0][2] == 8
    assert data_reads[0][3] == data_reads[1][3]  # the same buffer both times
    assert model.regs[0xF4] & 3 == 3  # normal mode


def test_read_before_first_measurement_returns_none_without_counting_a_failure():
    bus = machine.I2C(0)
    model = bus.attach(0x76, BME280Model())
    model.ready_after_ms = 10000
    env = BME280(bus)
    assert env.read() is None
    assert env.failures == 0
    model.ready_after_ms = 0
    assert env.read() is not None


def test_nack_is_a_counted_failure_then_recovers():
    b = board.load("RPI_PICO")
    env = BME280(b.i2c())
    assert env.read() is not None
    b.sim.bme280.inject("nack", times=2)
    for _ in range(2):
        with raises(SensorError, match="bme280@0x76: i2c error") as r:
            env.read()
        assert isinstance(r.value, OSError)
    assert env.failures == 2
    assert str(errno.ENODEV) in env.last_error
    b.sim.bme280.set(temperature=30.0)
    r = env.read()  # the fault is used up: set up again and read
    assert abs(r["temperature_c"] - 30.0) < 0.01
    assert env.samples == 2


def test_stuck_bus_and_io_errors_are_failures():
    bus = machine.I2C(0)
    model = bus.attach(0x76, BME280Model())
    env = BME280(bus)
    model.inject("stuck", times=1)
    with raises(SensorError, match=str(errno.ETIMEDOUT)):
        env.read()
    model.inject("io", times=1)
    with raises(SensorError, match=str(errno.EIO)):
        env.read()
    assert env.failures == 2
    assert env.read() is not None


def test_absent_sensor_and_wrong_chip_are_reported_clearly():
    bus = machine.I2C(0)
    env = BME280(bus, addr=0x77)
    with raises(SensorError, match="bme280@0x77"):
        env.read()
    bus.attach(0x76, BME280Model(chip_id=0x58))
    env = BME280(bus)
    with raises(SensorError, match="BMP280"):
        env.read()
    assert env.failures == 1


def test_bad_settings_are_rejected_at_construction():
    bus = machine.I2C(0)
    with raises(ValueError, match="standby_ms"):
        BME280(bus, standby_ms=3)
    with raises(ValueError, match="oversampling"):
        BME280(bus, oversampling=3)
    with raises(ValueError, match="iir_filter"):
        BME280(bus, iir_filter=5)
