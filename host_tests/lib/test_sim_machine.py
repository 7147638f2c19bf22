"""The simulated machine module: pins with edge injection, ADC, Timer, and the I2C
bus with its device models and fault injection."""
import errno

from rill.sim import machine
from rill.sim.hardware import SimHardware
from rill.sim.registers import Registers
from testkit import heap_locked, raises


def _errno(e):
    return e.args[0]


def test_pin_levels_pulls_and_outputs():
    Pin = machine.Pin
    assert Pin(1, Pin.IN, Pin.PULL_UP).value() == 1
    assert Pin(2, Pin.IN, Pin.PULL_DOWN).value() == 0
    out = Pin(3, Pin.OUT, value=1)
    assert out() == 1
    out.off()
    assert out.value() == 0
    out.toggle()
    out(0)
    assert out.value() == 0


def test_pin_irq_fires_on_matching_edges_only():
    Pin = machine.Pin
    pin = Pin(4, Pin.IN, Pin.PULL_UP)
    seen = []
    pin.irq(handler=lambda p: seen.append(p.value()), trigger=Pin.IRQ_FALLING)
    pin.drive(1)  # no change: no edge
    pin.drive(0)
    pin.drive(1)
    pin.drive(0)
    assert seen == [0, 0]
    pin.irq(handler=None)
    pin.burst(5)
    assert seen == [0, 0]


def test_pin_burst_allocates_nothing_itself():
    pin = machine.Pin(5)

    class Counter:
        def __init__(self):
            self.n = 0

        def handler(self, p):
            self.n += 1

    c = Counter()
    pin.irq(handler=c.handler)
    heap_locked(lambda: pin.burst(1000))
    assert c.n == 1000


def test_adc_voltage_and_raw_with_clamping():
    adc = machine.ADC(machine.Pin(26))
    assert adc.id == 26
    adc.set_voltage(1.65)
    assert abs(adc.read_u16() - 32768) <= 1
    adc.set_voltage(5.0)
    assert adc.read_u16() == 65535
    adc.set_raw(-3)
    assert adc.read_u16() == 0
    uv = machine.ADCuv(34, atten=machine.ADC.ATTN_11DB)
    uv.set_voltage(0.5)
    assert abs(uv.read_uv() - 500000) < 60


def test_timer_periodic_one_shot_and_deinit():
    ticks = []
    t = machine.Timer(0, mode=machine.Timer.PERIODIC, period=10, callback=lambda tm: ticks.append(tm.period))
    t.fire(3)
    assert ticks == [10, 10, 10]
    t.init(mode=machine.Timer.ONE_SHOT, freq=50, callback=lambda tm: ticks.append("once"))
    t.fire(3)
    assert ticks[3:] == ["once"] and t.period == 20
    t.init(callback=lambda tm: ticks.append("x"))
    t.deinit()
    t.fire()
    assert ticks[-1] == "once"


def test_i2c_register_device_read_write_and_scan():
    bus = machine.SoftI2C(scl=machine.Pin(5), sda=machine.Pin(4))
    dev = bus.attach(0x50, Registers())
    bus.writeto_mem(0x50, 0x10, b"\x01\x02\x03")
    assert bus.readfrom_mem(0x50, 0x10, 3) == b"\x01\x02\x03"
    buf = bytearray(2)
    bus.readfrom_mem_into(0x50, 0x11, buf)
    assert buf == bytearray(b"\x02\x03")
    assert bus.writeto(0x50, b"\x12\x09") == 2  # pointer 0x12, then data
    bus.writeto(0x50, b"\x10")
    assert bus.readfrom(0x50, 3) == b"\x01\x02\x09"
    assert bus.scan() == [0x50]
    assert dev.transactions == 7


def test_i2c_faults_nack_io_stuck_with_counts():
    bus = machine.I2C(0)
    a = bus.attach(0x10, Registers())
    bus.attach(0x11, Registers())
    with raises(OSError) as r:
        bus.readfrom(0x12, 1)
    assert _errno(r.value) == errno.ENODEV  # nobody there
    a.inject("nack", times=2)
    assert bus.scan() == [0x11]  # used one
    with raises(OSError) as r:
        bus.readfrom(0x10, 1)
    assert _errno(r.value) == errno.ENODEV
    bus.readfrom(0x10, 1)  # both used up
    a.inject("io")
    for _ in range(3):
        with raises(OSError) as r:
            bus.writeto(0x10, b"\x00")
        assert _errno(r.value) == errno.EIO
    a.clear()
    a.inject("stuck", times=1)
    with raises(OSError) as r:
        bus.readfrom(0x11, 1)  # a stuck device stalls the whole bus
    assert _errno(r.value) == errno.ETIMEDOUT
    assert bus.readfrom(0x11, 1) == b"\x00"
    with raises(ValueError):
        a.inject("smoke")


def test_hardware_shares_pins_and_adcs_and_feeds_the_chip_sensor():
    hw = SimHardware("rp2")
    assert hw.pin(15) is hw.pin(15, machine.Pin.IN, machine.Pin.PULL_UP)
    assert hw.pin(15).value() == 1
    assert hw.adc(26) is hw.adc(26) and not hasattr(hw.adc(26), "read_uv")
    hw.set_chip_temperature(27.0)
    assert abs(hw.adc(4).read_u16() * 3.3 / 65535 - 0.706) < 0.0001
    esp = SimHardware("esp32", celsius_api=True)
    assert hasattr(esp.adc(34), "read_uv")
    esp.set_chip_temperature(60)
    assert esp.esp32.mcu_temperature() == 60
    assert hw.i2c.scan() == [0x44, 0x76]
    assert hw.i2c.devices[0x76] is hw.bme280 and hw.i2c.devices[0x44] is hw.sht3x


def test_hardware_makes_each_model_at_its_first_use():
    hw = SimHardware("esp32")
    assert hw.i2c.devices == {} and sorted(hw.i2c.pending) == [0x44, 0x76]
    hw.i2c.writeto(0x44, b"\x24\x00")  # the first transaction makes the SHT3x's model
    assert list(hw.i2c.devices) == [0x44] and hw.sht3x.commands == 1
    assert hw.i2c.devices[0x44] is hw.sht3x and list(hw.i2c.pending) == [0x76]
    bme = hw.bme280  # reading the attribute makes it, on the bus as at the start
    assert hw.i2c.devices[0x76] is bme and hw.bme280 is bme and hw.i2c.pending == {}
    assert hw.i2c.readfrom_mem(0x76, 0xD0, 1) == b"\x60"
    hw.set_chip_temperature(50)
    assert hw.esp32.raw_temperature() == 122
    other = SimHardware("rp2")
    other.i2c.detach(0x76)  # gone before it was made: the bus NACKs it, the attribute still has one
    with raises(OSError):
        other.i2c.readfrom(0x76, 1)
    assert other.bme280.transactions == 0 and 0x76 not in other.i2c.devices
    assert other.esp32 is None
