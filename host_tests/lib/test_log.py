"""rill.log: a preallocated levelled ring; logging allocates nothing; entries at the
publish level reach a record (for a log topic)."""
import asyncio

from rill import Pipeline
from rill.clock import VirtualClock
from rill.log import DEBUG, ERROR, INFO, WARN, Log
from testkit import heap_locked, run


def test_ring_keeps_the_newest_by_level():
    log = Log(4, level=INFO)
    log.debug("x", "hidden")
    for i in range(6):
        log.info("loop", "tick", i)
    log.error("bme280", "read failed", 5)
    got = log.entries()
    assert [e[4] for e in got] == [3, 4, 5, 5] and got[-1][1:4] == ("error", "bme280", "read failed"), got
    assert log.produced == 7 and log.dropped == 3 and log.counts == [0, 6, 0, 1]
    log.level = DEBUG
    log.log(DEBUG, "x", "shown")
    assert log.entries()[-1][1:4] == ("debug", "x", "shown")


def test_logging_allocates_nothing():
    log = Log(8)
    log.warn("w", "warm")

    def loop():
        for i in range(1000):
            log.info("loop", "tick", i & 0xFF)
            log.log(WARN, "loop", "slow", i & 0x3F)
        return log.produced

    assert heap_locked(loop) == 2001


def test_entries_at_the_publish_level_reach_the_record():
    p = Pipeline("logged")
    log = Log(8).attach(p, publish_level=WARN)
    got = []
    p.tap("log", got.append)
    g = p.build()
    log.error("early", "before start")  # not running yet: kept in the ring only
    clock = VirtualClock()

    async def main():
        g.start(clock)
        log.info("a", "not published")
        log.warn("b", "published", 1)
        log.log(ERROR, "c", "published too")
        await clock.advance(10)
        g.stop()

    run(main())
    assert [e[1:] for e in got] == [["warn", "b", "published", 1], ["error", "c", "published too", None]], got
    assert len(log.entries()) == 4 and log.counts == [0, 1, 1, 2]
    assert INFO < WARN and asyncio is not None


def _replayed():
    p = Pipeline("replayed")
    log = Log(4).attach(p)
    g = p.build()
    clock = VirtualClock(start=1000)

    async def main():
        g.start(clock)
        for i in range(6):
            await clock.advance(250)
            log.warn("loop", "tick", i)
        g.stop()

    run(main())
    return log


def test_entries_carry_the_graphs_clock_so_a_replay_logs_the_same():
    first, second = _replayed(), _replayed()
    assert [e[0] for e in first.entries()] == [1750, 2000, 2250, 2500], first.entries()
    assert first.entries() == second.entries() and first.dropped == 2


def test_the_ring_is_the_dead_letters_ring():
    from rill.buffers import DeadLetters

    log = Log(3)
    assert isinstance(log, DeadLetters) and log.width == 5 and log.capacity == 3
    for i in range(5):
        log.info("t", "m", i)
    assert log.occupancy() == 3 and log.produced == 5 and [e[4] for e in log.entries()] == [2, 3, 4]
