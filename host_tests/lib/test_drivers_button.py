"""Digital input: the IRQ handler takes 1,000-edge bursts with the heap locked, a full
ring counts overruns, and debouncing in the pipeline turns bouncy edges into presses."""
import asyncio

from rill import board
from rill.drivers.button import DigitalInput, debounce
from rill.sim import machine
from testkit import heap_locked, raises, run


class _Checker:
    """emit() for drain(): the line idles high (pull-up), so edges go active, idle, active, ...
    with timestamps that never go backwards."""

    def __init__(self):
        self.n = 0
        self.ok = True
        self.problem = None
        self.last = None

    def __call__(self, edge):
        t, active, settled = edge
        if active != (self.n + 1) % 2 or settled or (self.last is not None and t - self.last < 0):
            self.ok = False
            self.problem = "edge %d: %r after %r" % (self.n, edge, self.last)
        self.last = t
        self.n += 1


def _input(size=1024, **kw):
    pin = machine.Pin(15, machine.Pin.IN, machine.Pin.PULL_UP)
    return pin, DigitalInput(pin, active_low=True, size=size, **kw)


def test_burst_of_1000_edges_with_the_heap_locked():
    pin, di = _input()
    heap_locked(lambda: pin.burst(1000))  # on MicroPython any allocation in the handler raises MemoryError
    assert di.pending() == 1000
    assert di.overruns == 0
    check = _Checker()
    assert di.drain(check) == 1000  # checked as they come: 1,000 stored tuples would crowd a small heap
    assert check.n == 1000 and check.ok, check.problem
    assert di.pending() == 0


def test_full_ring_drops_and_counts_without_allocating():
    pin, di = _input(size=16)
    heap_locked(lambda: pin.burst(100))
    assert di.pending() == 16
    assert di.overruns == 84
    edges = []
    di.drain(edges.append)
    assert len(edges) == 16
    heap_locked(lambda: pin.burst(3))  # room again after the drain
    assert di.pending() == 3


def test_ring_keeps_working_across_index_wraparound():
    pin, di = _input(size=4)
    seen = []
    for _ in range(50):
        pin.burst(3)
        di.drain(seen.append)
    assert len(seen) == 150 and di.overruns == 0


def test_size_must_be_a_power_of_two():
    pin = machine.Pin(1)
    with raises(ValueError, match="power of two"):
        DigitalInput(pin, size=100)


def test_trigger_selects_edges():
    pin = machine.Pin(2, machine.Pin.IN, machine.Pin.PULL_DOWN)
    di = DigitalInput(pin, trigger=machine.Pin.IRQ_RISING)
    pin.burst(10)
    edges = []
    di.drain(edges.append)
    assert [e[1] for e in edges] == [1] * 5


def test_debounce_leading_edge_drops_bounces_and_settles():
    d = debounce(20)
    out = []
    # press at t=1000 bouncing for 5 ms, release at 1300 bouncing, ending released
    for edge in ((1000, 1, 0), (1001, 0, 0), (1002, 1, 0), (1005, 0, 0), (1060, 0, 1),
                 (1300, 0, 0), (1301, 1, 0), (1303, 0, 0), (1360, 0, 1)):
        v = d(edge)
        if v is not None:
            out.append((edge[0], v))
    # the press passes at once; the bounce that ended released is corrected by the settled sample
    assert out == [(1000, True), (1060, False)]


def test_debounce_sees_a_real_press_soon_after_a_settled_sample():
    d = debounce(20)
    assert d((0, 1, 0)) is True
    assert d((30, 0, 0)) is False
    assert d((80, 0, 1)) is None  # settled where it already was
    assert d((105, 1, 0)) is True  # 75 ms after the last real edge: not a bounce


def test_debounce_without_leading_edge_waits_for_stillness():
    d = debounce(leading=False)
    assert d((0, 1, 0)) is None
    assert d((2, 0, 0)) is None
    assert d((52, 1, 1)) is True
    assert d((400, 0, 0)) is None
    assert d((450, 0, 1)) is False


def test_run_emits_edges_then_a_settled_sample():
    async def main():
        pin, di = _input(settle_ms=20)
        got = []
        task = asyncio.create_task(di.run(got.append))
        await asyncio.sleep_ms(5)
        pin.drive(0)  # press, with a bounce
        pin.drive(1)
        pin.drive(0)
        await asyncio.sleep_ms(60)
        pin.drive(1)  # release
        await asyncio.sleep_ms(60)
        task.cancel()
        return got

    got = run(main())
    assert [(e[1], e[2]) for e in got] == [(1, 0), (0, 0), (1, 0), (1, 1), (0, 0), (0, 1)]
    d = debounce(10)
    states = [v for v in (d(e) for e in got) if v is not None]
    assert states == [True, False]


def test_board_button_uses_hard_irqs_only_where_the_port_has_them():
    pico = board.load("RPI_PICO")
    btn = pico.button()
    pin = pico.sim.pin(15)
    assert pin.hard is True and btn.invert == 1
    assert btn.level() == 0  # pulled up, not pressed
    pin.drive(0)
    assert btn.pending() == 1 and btn.level() == 1
    esp = board.load("ESP32_GENERIC")
    esp.button()
    assert esp.sim.pin(0).hard is False
