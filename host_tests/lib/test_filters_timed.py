"""Time-based filters in virtual time: tables of (ms, value) in and (ms, value) out, from
ESPHome's pages (cited per test). Also chains and ``or_`` holding timers."""
from rill import Pipeline
from rill.clock import VirtualClock
from rill.filters import (
    chain,
    debounce,
    heartbeat,
    or_,
    throttle,
    throttle_average,
    throttle_with_priority,
    timeout,
)
from testkit import run

NAN = float("nan")


def timeline(fn, events, until):
    """Push ``events`` [(ms, value)] through ``fn`` in a pipeline on a VirtualClock, until
    ``until`` ms; return what it sent as [(ms, value)]."""
    clock = VirtualClock()
    sent = []
    p = Pipeline("timed")
    p.record("in")
    p.record("out")
    p.record("log")
    p.source("in")
    p.transform("out", fn, "in")
    p.transform("log", lambda v: sent.append((clock.now(), v)), "out")
    g = p.build()

    async def main():
        g.start(clock)
        for t, v in events:
            await clock.advance(t - clock.now())
            g.push("in", v)
        await clock.advance(until - clock.now())
        g.stop()

    run(main())
    return sent


def nan_as_str(log):
    return [(t, "nan" if v != v else v) for t, v in log]


def test_throttle():
    # https://esphome.io/components/sensor/filter/throttle/ : a value passes only if the last
    # one passed is at least the period old
    events = [(0, 1), (500, 2), (999, 3), (1000, 4), (1500, 5), (2100, 6)]
    assert timeline(throttle(1000), events, 3000) == [(0, 1), (1000, 4), (2100, 6)]
    events = [(0, NAN), (500, 2), (1000, NAN), (1100, 3)]  # NaN is throttled like any value
    assert nan_as_str(timeline(throttle(1000), events, 2000)) == [(0, "nan"), (1000, "nan")]


def test_throttle_with_priority():
    # https://esphome.io/components/sensor/filter/throttle_with_priority/ : NaN (the default
    # prioritized value) passes at once, and so does any listed value
    events = [(0, 1), (100, NAN), (200, 2), (1200, 3)]
    assert nan_as_str(timeline(throttle_with_priority(1000), events, 2000)) == [(0, 1), (100, "nan"), (1200, 3)]
    events = [(0, 1), (100, 9), (200, 2), (300, 0)]
    assert timeline(throttle_with_priority(1000, [0, 9]), events, 2000) == [(0, 1), (100, 9), (300, 0)]


def test_throttle_average():
    # https://esphome.io/components/sensor/filter/throttle_average/ : the average of each
    # period; one value goes out as it is; a period without values sends nothing
    # (ESPHome since its PR 6275); a period of only NaN sends NaN
    events = [(100, 1), (200, 2), (300, 6), (3500, 7), (4100, NAN), (4200, NAN)]
    got = nan_as_str(timeline(throttle_average(1000), events, 6000))
    assert got == [(1000, 3.0), (4000, 7), (5000, "nan")]
    events = [(100, NAN), (200, 4)]
    assert timeline(throttle_average(1000), events, 1500) == [(1000, 4)]


def test_heartbeat():
    # https://esphome.io/components/sensor/filter/heartbeat/ : the last value, every period,
    # from the first value on; a change does not restart the period
    events = [(500, 1), (1500, 2), (1600, 3)]
    assert timeline(heartbeat(1000), events, 3500) == [(1000, 1), (2000, 3), (3000, 3)]
    assert nan_as_str(timeline(heartbeat(1000), [(500, NAN)], 2500)) == [(1000, "nan"), (2000, "nan")]
    # optimistic: every value also goes out at once
    got = timeline(heartbeat(1000, optimistic=True), [(500, 1), (1500, 2)], 2500)
    assert got == [(500, 1), (1000, 1), (1500, 2), (2000, 2)]


def test_timeout():
    # https://esphome.io/components/sensor/filter/timeout/ : values pass; once the period
    # passes without a new one, NaN (or the given value, or "last") goes out, once
    events = [(0, 1), (500, 2), (2000, 3)]
    assert nan_as_str(timeline(timeout(1000), events, 4000)) == [(0, 1), (500, 2), (1500, "nan"), (2000, 3),
                                                                 (3000, "nan")]
    assert timeline(timeout(1000, value=0), [(0, 5)], 3000) == [(0, 5), (1000, 0)]
    assert timeline(timeout(1000, value="last"), [(0, 5)], 3000) == [(0, 5), (1000, 5)]
    assert timeline(timeout(1000), [], 3000) == []  # nothing before the first value


def test_debounce():
    # https://esphome.io/components/sensor/filter/debounce/ : only the last value, once the
    # period passed without a newer one
    events = [(0, 1), (500, 2), (900, 3), (3000, 4)]
    assert timeline(debounce(1000), events, 5000) == [(1900, 3), (4000, 4)]
    assert nan_as_str(timeline(debounce(1000), [(0, 1), (10, NAN)], 2000)) == [(1010, "nan")]
    assert timeline(debounce(1000), [(0, 1), (1000, 2)], 3000) == [(1000, 1), (2000, 2)]  # quiet for exactly ms


def test_timer_in_a_chain_sends_through_the_rest_of_it():
    # ESPHome's filters: list; a heartbeat's beats go on through the filters after it
    c = chain([{"multiply": 2}, {"heartbeat": 1000}, {"offset": 1}])
    assert timeline(c, [(500, 5)], 2500) == [(1000, 11), (2000, 11)]


def test_or_sends_the_first_result_per_value():
    # https://esphome.io/components/sensor/filter/or/ : each value goes to every filter; the
    # first result per value passes
    f = or_([{"throttle": 1000}, {"delta": 5}])
    events = [(0, 1), (100, 2), (200, 10), (1100, 11), (1200, 12)]
    assert timeline(f, events, 2000) == [(0, 1), (200, 10), (1100, 11)]
    # a timer inside or_: what it sends passes unless a result for the last value already did
    f = or_([{"timeout": {"ms": 1000, "value": -1}}, {"skip_initial": 1}])
    assert timeline(f, [(0, 1), (100, 2)], 3000) == [(0, 1), (100, 2)]
    f = or_([{"debounce": 1000}, {"skip_initial": 5}])
    assert timeline(f, [(0, 1), (100, 2)], 3000) == [(1100, 2)]


def test_randomized_timers_against_naive_reference():
    # a timer due at the same ms as a value fires first, so a value at k * period
    # belongs to the next period (and ESPHome's scheduler, too, runs due timers first)
    seed = [99]

    def rnd(n):
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (seed[0] >> 8) % n

    period, end = 100, 3000
    t, events = 0, []
    while True:
        t += (0, 50, 100)[rnd(3)] if rnd(4) == 0 else 1 + rnd(180)
        if t >= end - 1:
            break
        if not events or events[-1][0] != t:
            events.append((t, rnd(50)))

    got = timeline(throttle_average(period), events, end)
    want = []
    for k in range(1, end // period + 1):
        vals = [v for ts, v in events if (k - 1) * period <= ts < k * period]
        if vals:
            want.append((k * period, vals[0] if len(vals) == 1 else sum(vals) / len(vals)))
    assert got == want

    got = timeline(heartbeat(period), events, end)
    want = []
    for k in range(1, end // period + 1):
        before = [v for ts, v in events if ts < k * period]
        if before:
            want.append((k * period, before[-1]))
    assert got == want

    nxt = [e[0] for e in events[1:]] + [None]
    quiet = [(ts + period, v) for (ts, v), n in zip(events, nxt)
             if (n is None or n >= ts + period) and ts + period <= end]
    assert timeline(debounce(period), events, end) == quiet
    got = timeline(timeout(period, value=-1), events, end)
    assert got == sorted(events + [(ts, -1) for ts, _ in quiet])
