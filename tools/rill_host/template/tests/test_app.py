"""The pipeline in virtual time: seconds of sensor readings, instantly, on both runtimes."""
from app import load_config, pipeline

from rill import EMPTY
from testkit import run


def _drain(rec):
    r, out = rec.reader(), []
    while True:
        v = r.read()
        if v is None or v is EMPTY:
            return out
        out.append(v)


def test_readings_are_smoothed(board, clock):
    cfg = load_config()
    g = pipeline(board, cfg).build(board=board)
    board.sim.sht3x.set(temperature=20.0)

    async def main():
        g.start(clock)
        await clock.advance(3 * cfg["every_ms"])  # the first read starts the sensor's conversion
        board.sim.sht3x.set(temperature=26.0)
        await clock.advance(cfg["window"] * cfg["every_ms"])
        g.stop()

    run(main())
    smooth = _drain(g.records["smooth"])
    assert abs(smooth[0] - 20.0) < 0.01, smooth
    assert abs(smooth[-1] - 26.0) < 0.01, smooth
    assert all(a <= b + 0.01 for a, b in zip(smooth, smooth[1:])), smooth
