"""With small-int values, the filters allocate nothing per record: proven under
micropython.heap_lock() on the unix port (on CPython these run unlocked). Results that are
floats (a mean, a calibration, an NTC conversion) are new float objects on MicroPython;
tools/rill_host/bench/mp/bench_filters_mp.py reports those bytes per record."""
from rill import Pipeline
from rill.filters import (
    chain,
    clamp,
    debounce,
    delta,
    filter_out,
    heartbeat,
    lambda_,
    latest,
    max,
    median,
    min,
    multiply,
    offset,
    or_,
    quantile,
    round,
    round_to_multiple_of,
    skip_initial,
    sliding_window_moving_average,
    throttle,
    throttle_average,
    throttle_with_priority,
    timeout,
    tumbling,
    zip_seq,
)
from testkit import heap_locked

N = 300


def int_filters():
    return [
        offset(2), multiply(3), lambda_(lambda x: x if x & 1 else None), filter_out([5, 7]), clamp(0, 50),
        clamp(0, 50, ignore_out_of_range=True), round(1), round_to_multiple_of(10), skip_initial(3), delta(2),
        delta("10%", max_value=90), median(5, 1), median(7, 3, 2), quantile(6, 2), min(4, 1), max(4, 1),
        sliding_window_moving_average(8, 1000), throttle(50), throttle_with_priority(50, [3, 4]),
        throttle_average(1000), heartbeat(1000), timeout(1000), debounce(1000), latest(1),
        tumbling(count=1000), chain([offset(1), clamp(0, 40), median(3, 1)]), or_([delta(3), skip_initial(2)]),
    ]


def test_every_filter_with_small_ints_allocates_nothing_per_record():
    filters = int_filters()
    for f in filters:  # warm up: first calls may size instance dicts
        for i in range(20):
            f(i)

    def loop():
        for i in range(N):
            x = (i * 7) & 63
            for f in filters:
                f(x)

    heap_locked(loop)


def test_filters_in_a_running_pipeline_allocate_nothing_per_record():
    p = Pipeline("alloc")
    for k in ("a", "b", "pair", "both", "smooth"):
        p.record(k)
    p.source("a")
    p.source("b")
    p.transform("pair", zip_seq(2), "a", "b")
    p.transform("both", latest(2), "a", "b")
    p.transform("smooth", chain([{"clamp": {"min_value": 0, "max_value": 100}}, {"median": {"window_size": 5,
                                                                                          "send_every": 1}}]), "a")
    g = p.build()
    g.start()  # binds zip_seq to its inputs' counters; there are no tasks to start
    push = g.push
    for i in range(20):
        push("a", i)
        push("b", i)

    def loop():
        for i in range(N):
            push("a", i & 127)
            push("b", i & 127)

    heap_locked(loop)
    g.stop()
    assert g.records["pair"].value == [(N - 1) & 127, (N - 1) & 127]
    assert g.records["smooth"].value == ((N - 3) & 127)


def test_zip_of_six_inputs_allocates_nothing():
    keys = ("a", "b", "c", "d", "e", "f")
    p = Pipeline("zip6")
    for k in keys:
        p.record(k)
        p.source(k)
    p.record("row")
    p.transform("row", zip_seq(6), *keys)
    g = p.build()
    g.start()
    push = g.push

    def loop():
        for i in range(200):
            for k in keys:
                push(k, i & 127)

    heap_locked(loop)
    g.stop()
    assert g.records["row"].value == [199 & 127] * 6
