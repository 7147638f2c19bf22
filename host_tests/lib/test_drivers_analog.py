"""Analog input (averaged, in volts) and the MCU's own temperature sensor."""
from rill import board
from rill.drivers.analog import Analog
from rill.drivers.mcu_temp import ESP32Temp, RP2040Temp
from rill.drivers.sensor import SensorError
from rill.sim import machine
from rill.sim.esp32 import Esp32
from testkit import heap_locked, raises


class _Seq:
    """An ADC returning the given raw values in turn."""

    def __init__(self, values):
        self.values = values
        self.i = 0

    def read_u16(self):
        v = self.values[self.i % len(self.values)]
        self.i += 1
        return v


class _Broken:
    def read_u16(self):
        raise OSError(5)


def test_mean_of_n_samples_in_volts():
    a = Analog(_Seq([0, 65535]), samples=8)
    assert abs(a.read() - 1.65) < 1e-9
    assert a.adc.i == 8
    adc = machine.ADC(26)
    adc.set_voltage(2.0)
    assert abs(Analog(adc).read() - 2.0) < 0.0001


def test_sampling_into_the_preallocated_buffer_does_not_allocate():
    adc = machine.ADC(26)
    adc.set_raw(1000)
    a = Analog(adc, samples=16)
    assert heap_locked(a.sample) == 16000
    assert list(a._buf) == [1000] * 16


def test_calibrated_microvolts_are_used_where_the_adc_has_them():
    adc = machine.ADCuv(34)
    adc.set_voltage(1.2)
    a = Analog(adc, samples=4)
    assert a._uv is not None
    assert abs(a.read() - 1.2) < 1e-5


def test_gain_offset_and_two_point_calibration():
    adc = machine.ADC(27)
    adc.set_voltage(1.0)
    a = Analog(adc, gain=3.0)
    assert abs(a.read() - 3.0) < 0.001
    a.calibrate(0.5, 1.0, 1.5, 4.0)  # pin 0.5 V is 1 V, pin 1.5 V is 4 V
    assert abs(a.gain - 3.0) < 1e-9 and abs(a.offset + 0.5) < 1e-9
    assert abs(a.read() - 2.5) < 0.001
    with raises(ValueError):
        a.calibrate(1, 1, 1, 2)
    with raises(ValueError):
        Analog(adc, samples=0)


def test_adc_error_is_a_counted_failure():
    a = Analog(_Broken())
    with raises(SensorError, match="adc error"):
        a.read()
    assert a.failures == 1 and a.samples == 0


def test_board_adc_accepts_only_the_boards_adc_inputs():
    b = board.load("RPI_PICO")
    b.sim.adc(28).set_voltage(0.8)
    assert abs(b.analog(28, samples=4).read() - 0.8) < 0.001
    with raises(board.BoardError, match="GPIO 5 is not an ADC input on RPI_PICO; its ADC inputs are 26, 27, 28"):
        b.adc(5)


def test_rp2040_internal_temperature_formula():
    adc = machine.ADC(4)
    adc.set_voltage(0.706)
    assert abs(RP2040Temp(adc).read() - 27.0) < 0.05
    adc.set_voltage(0.706 - 0.001721 * 10)
    assert abs(RP2040Temp(adc).read() - 37.0) < 0.05
    with raises(SensorError):
        RP2040Temp(_Broken()).read()


def test_esp32_raw_fahrenheit_and_its_invalid_value():
    chip = Esp32(temperature_c=40.0)
    t = ESP32Temp(chip)
    assert abs(t.read() - 40.0) < 0.3
    chip.raw_value = 128
    with raises(SensorError, match="128"):
        t.read()
    assert t.failures == 1
    chip.raw_value = 212
    assert abs(t.read() - 100.0) < 1e-9


def test_esp32_s3_reads_celsius():
    chip = Esp32(celsius_api=True, temperature_c=51.0)
    assert ESP32Temp(chip).read() == 51.0


def test_board_picks_the_chips_own_sensor():
    for name in ("RPI_PICO", "RPI_PICO_W", "ESP32_GENERIC", "ESP32_GENERIC_S3"):
        b = board.load(name)
        b.sim.set_chip_temperature(47.0)
        assert abs(b.mcu_temp().read() - 47.0) < 0.3, name


def docs_testing_example(run, code):
    """docs/testing.md's test of a soil probe, called as the fixtures would call it
    (test_examples.py runs it on every runtime)."""
    from rill.clock import VirtualClock

    clock = VirtualClock()
    run()["test_dry_soil_then_watered"](board.load("RPI_PICO_W", sim=True, clock=clock), clock)
