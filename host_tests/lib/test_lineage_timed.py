"""rill.lineage against a brute-force reference (lineage_ref.py), for filters that send
from timers (debounce, heartbeat, timeout, throttle_average, tumbling by time), and the
bookkeeping of filters with state allocating nothing per record."""
from lineage_ref import (
    events,
    same,
    timed,
)
from rill import Pipeline
from rill.clock import VirtualClock
from rill.filters import (
    chain,
    debounce,
    heartbeat,
    median,
    or_,
    throttle_average,
    timeout,
    tumbling,
    zip_seq,
)
from testkit import heap_locked, run

MP_HEAPSIZE = "192K"


def test_timers_name_the_value_they_send():
    ev = events(3, 30, 150)
    for fn in (debounce(100), heartbeat(70), timeout(120, "last"), timeout(120)):
        lasts = []
        got = timed(fn, ev, ev[-1][0] + 300, lasts)
        assert len(got) > 5, (fn, got)
        for (v, o), last in zip(got, lasts):
            # each sends the last value received (timeout's NaN: after it); it names that record
            assert o == {"a": [last, last]} and (v == last or v != v), (fn, v, o, last)


def test_a_throttled_average_names_its_period():
    ev = events(5, 40, 60)
    got = timed(throttle_average(100), ev, ev[-1][0] + 200)
    want = []
    for k in range(1, ev[-1][0] // 100 + 3):
        period = [i for t, i in ev if 100 * (k - 1) <= t < 100 * k]
        if period:
            want.append((period[0] if len(period) == 1 else sum(period) / len(period),
                         {("a", i) for i in period}))
    same(got, want)


def test_a_timed_tumbling_window_names_its_period():
    ev = events(9, 40, 60)
    got = timed(tumbling(ms=100), ev, ev[-1][0] + 200)
    want = []
    for k in range(1, ev[-1][0] // 100 + 3):
        period = [i for t, i in ev if 100 * (k - 1) <= t < 100 * k]
        if period:
            want.append(({"count": len(period), "mean": sum(period) / len(period), "min": min(period),
                          "max": max(period)}, {("a", i) for i in period}))
    same(got, want)


def test_stateful_lineage_allocates_nothing_per_record():
    # filters that themselves allocate nothing with int values (a mean is a new float)
    from rill.filters import max as max_
    from rill.filters import min as min_

    clock = VirtualClock()
    p = Pipeline()
    for k in ("a", "b"):
        p.record(k, int)
        p.source(k)
    for k in ("z", "w", "o", "s"):
        p.record(k, object)
    p.transform("z", zip_seq(2, depth=4), "a", "b")
    p.transform("w", chain([median(3, 1), max_(4, 2)]), "a")
    p.transform("o", or_([min_(2, 2), debounce(50)]), "b")
    p.transform("s", throttle_average(10 ** 6), "a")
    g = p.build(lineage=True)

    def loop():
        for i in range(9, 2009):
            g.push("a", i)
            g.push("b", i)

    async def main():
        g.start(clock)
        for i in range(1, 9):
            g.push("a", i)
            g.push("b", i)
        heap_locked(loop)
        g.stop()

    run(main())
    for n in g.nodes:
        assert n.error is None, (n.name, n.error)
    assert g.lineage.origin("z") == {"a": [2008, 2008], "b": [2008, 2008]}
    assert g.lineage.origin("w") == {"a": [2002, 2007]}  # sent every 2nd, the last at a#2007: 4 medians of 3
    assert g.lineage.origin("o") == {"b": [2006, 2007]}  # the min of 2, sent at odd calls
