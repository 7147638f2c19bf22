"""The BME280 and SHT3x register models: calibration layout, raw values that invert
the datasheet formulas, and the behaviour a driver relies on."""
from rill.drivers.bme280 import parse_calibration
from rill.drivers.sht3x import crc8
from rill.sim import machine
from rill.sim.bme280 import CALIBRATION, BME280Model, _humidity, _pressure, _temperature
from rill.sim.sht3x import SHT3xModel, _crc8
from testkit import raises


def test_bme280_model_stores_the_calibration_where_the_datasheet_says():
    m = BME280Model(calibration={"T": CALIBRATION["T"], "P": CALIBRATION["P"], "H": (75, -300, 7, -349, -30, -5)})
    cal = parse_calibration(m.regs[0x88:0xA2], m.regs[0xE1:0xE8])
    assert cal == CALIBRATION["T"] + CALIBRATION["P"] + (75, -300, 7, -349, -30, -5)
    assert m.regs[0xD0] == 0x60


def test_bme280_raw_values_invert_the_floating_point_formulas():
    m = BME280Model(temperature=18.25, pressure=995.5, humidity=62.0)
    adc_t, adc_p, adc_h = m.raw()
    t, t_fine = _temperature(CALIBRATION, adc_t)
    assert abs(t - 18.25) < 0.001
    assert abs(_pressure(CALIBRATION, adc_p, t_fine) - 99550) < 0.2
    assert abs(_humidity(CALIBRATION, adc_h, t_fine) - 62.0) < 0.01


def test_bme280_data_registers_start_as_skipped_and_fill_in_normal_mode():
    bus = machine.I2C(0)
    m = bus.attach(0x76, BME280Model())
    assert bus.readfrom_mem(0x76, 0xF7, 8) == b"\x80\x00\x00\x80\x00\x00\x80\x00"
    bus.writeto_mem(0x76, 0xF4, b"\x27")
    data = bus.readfrom_mem(0x76, 0xF7, 8)
    adc_t, adc_p, adc_h = m.raw()
    assert (data[3] << 12) | (data[4] << 4) | (data[5] >> 4) == adc_t
    assert (data[0] << 12) | (data[1] << 4) | (data[2] >> 4) == adc_p
    assert (data[6] << 8) | data[7] == adc_h
    bus.writeto_mem(0x76, 0xE0, b"\xb6")  # soft reset: back to sleep, data skipped
    assert bus.readfrom_mem(0x76, 0xF7, 1) == b"\x80"
    assert bus.readfrom_mem(0x76, 0xF4, 1) == b"\x00"


def test_sht3x_model_words_and_crc_fault():
    bus = machine.I2C(0)
    m = bus.attach(0x44, SHT3xModel(temperature=25.0, humidity=50.0))
    assert m.raw() == (round(70 * 65535 / 175), 32768)
    m._started = -10000  # pretend the conversion finished long ago
    m._wait = 0
    buf = bytearray(6)
    bus.readfrom_into(0x44, buf)
    assert buf[3:5] == bytearray(b"\x80\x00") and buf[5] == crc8(buf, 3)
    assert _crc8(0xBE, 0xEF) == 0x92  # the model's own CRC, checked against the datasheet too
    m.inject("crc", times=1)
    bus.writeto(0x44, b"\x24\x16")
    m._started = -10000
    bus.readfrom_into(0x44, buf)
    good = bytearray(6)
    bus.writeto(0x44, b"\x24\x16")
    m._started = -10000
    bus.readfrom_into(0x44, good)
    assert buf[2] != good[2] and buf[:2] == good[:2]
    with raises(OSError):
        bus.writeto(0x44, b"\x24")
