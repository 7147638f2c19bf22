"""Filter benchmark, run on the MicroPython unix port by tools/rill_host/bench/cli.py. Prints one JSON line.

For every filter: its cost per record relative to a direct call of a plain function that
does the same work inline (the strongest honest baseline: a hand-written running sum for
a moving average, ``sorted()`` for a median), best of interleaved rounds; and the heap
it allocates per record with float values (0 means nothing; small ints allocate nothing,
as host_tests/lib/test_filters_alloc.py proves).
"""
import gc
import json
import sys
from math import ceil, exp, floor, log, log10
from time import ticks_add, ticks_diff, ticks_ms

from benchkit_mp import allocated, best_of

from rill import filters as F

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
VALUES = [20.0 + (i % 37) * 0.25 for i in range(64)]
INTS = [20 + (i % 37) for i in range(64)]
S = [0, 0.0, 0, 0.0]  # baseline state
RING = [0.0] * 15
NTC = {"b_constant": 3950, "reference_temperature": 25, "reference_resistance": 10000}
A0 = 1 / 298.15 - log(10000) / 3950


def every(n):
    S[0] += 1
    if S[0] >= n:
        S[0] = 0
        return True
    return False


def ring(x, n):
    i = S[2]
    RING[i] = x
    S[2] = (i + 1) % n


def b_skip(x):
    if S[3] < 3:
        S[3] += 1
        return None
    return x


def b_delta(x):
    if abs(x - S[1]) > 0.5:
        S[1] = x
        return x
    return None


def b_sum(x):
    S[1] += x
    S[2] += 1


def b_keep(x):
    S[1] = x


def b_latest(x):
    RING[0] = x
    return RING


def b_sma(x):  # running sum, sent every 15th
    i = S[2]
    S[1] += x - RING[i]
    RING[i] = x
    S[2] = (i + 1) % 15
    return S[1] / 15 if every(15) else None


def b_window(fn, n=5):
    def b(x):
        ring(x, n)
        return fn(RING[:n]) if every(n) else None
    return b


def b_ema(x):
    S[1] = 0.1 * x + 0.9 * S[1]
    return S[1] if every(15) else None


def b_throttle(x):
    t = ticks_ms()
    if ticks_diff(t, S[0]) >= 1000:
        S[0] = t
        return x
    return None


def b_deadline(x):
    S[0] = ticks_add(ticks_ms(), 1000)
    return x


def b_tumbling(x):  # count, sum, min, max; every 10th: the four
    S[1] += x
    S[2] += 1
    if S[3] is None or x < S[3]:
        S[3] = x
    if RING[1] is None or x > RING[1]:
        RING[1] = x
    if S[2] >= 10:
        out = (S[2], S[1] / S[2], S[3], RING[1])
        S[1] = 0.0
        S[2] = 0
        S[3] = RING[1] = None
        return out
    return None


class Graph:
    """Just enough of a graph for ``bind``: the real clock, and no tasks (only calls are timed)."""

    def __init__(self):
        from rill.clock import RealClock

        self.clock = RealClock()
        self.records = {}

    def spawn(self, coro):
        coro.close()


class Node:
    inputs = ()  # a one-input transform, fed by direct calls


CASES = [
    ("offset", lambda: F.offset(2.0), lambda x: x + 2.0),
    ("multiply", lambda: F.multiply(1.5), lambda x: x * 1.5),
    ("lambda", lambda: F.lambda_(lambda x: x * 2), lambda x: x * 2),
    ("filter_out", lambda: F.filter_out(85.0), lambda x: None if x == 85.0 else x),
    ("clamp", lambda: F.clamp(0.0, 25.0), lambda x: 0.0 if x < 0.0 else 25.0 if x > 25.0 else x),
    ("round", lambda: F.round(1), lambda x: floor(x * 10 + 0.5) / 10),
    ("round_to_multiple_of", lambda: F.round_to_multiple_of(0.5), lambda x: 0.5 * floor(x / 0.5 + 0.5)),
    ("round_to_significant_digits", lambda: F.round_to_significant_digits(3),
     lambda x: floor(x * 10 ** (3 - ceil(log10(x))) + 0.5) / 10 ** (3 - ceil(log10(x)))),
    ("skip_initial", lambda: F.skip_initial(3), b_skip),
    ("delta", lambda: F.delta(0.5), b_delta),
    ("calibrate_linear", lambda: F.calibrate_linear([(0, 0.3), (10, 11.3)]), lambda x: 1.1 * x + 0.3),
    ("calibrate_polynomial", lambda: F.calibrate_polynomial([(0, 0), (10, 12.1), (13, 14)], 2),
     lambda x: 0.0 + x * (1.6536 + x * -0.04436)),
    ("to_ntc_temperature", lambda: F.to_ntc_temperature(NTC), lambda x: 1 / (A0 + log(x) / 3950) - 273.15),
    ("to_ntc_resistance", lambda: F.to_ntc_resistance(NTC), lambda x: exp((1 / (x + 273.15) - A0) * 3950)),
    ("sliding_window_moving_average", F.sliding_window_moving_average, b_sma),
    ("exponential_moving_average", F.exponential_moving_average, b_ema),
    ("median", F.median, b_window(lambda w: sorted(w)[2])),
    ("quantile", F.quantile, b_window(lambda w: sorted(w)[4])),
    ("min", F.min, b_window(lambda w: sorted(w)[0])),
    ("max", F.max, b_window(lambda w: sorted(w)[-1])),
    ("throttle", lambda: F.throttle(1000), b_throttle),
    ("throttle_with_priority", lambda: F.throttle_with_priority(1000), lambda x: x if x != x else b_throttle(x)),
    ("throttle_average", lambda: F.throttle_average(1000), b_sum),
    ("heartbeat", lambda: F.heartbeat(1000), b_keep),
    ("timeout", lambda: F.timeout(1000), b_deadline),
    ("debounce", lambda: F.debounce(1000), lambda x: b_deadline(x) and None),
    ("or", lambda: F.or_([F.throttle(1000), F.delta(0.5)]),
     lambda x: b_throttle(x) or b_delta(x)),
    ("chain", lambda: F.chain([F.offset(1.0), F.clamp(0.0, 25.0), F.round(1)]),
     lambda x: floor((25.0 if x + 1.0 > 25.0 else x + 1.0) * 10 + 0.5) / 10),
    ("latest", lambda: F.latest(1), b_latest),
    ("tumbling", lambda: F.tumbling(count=10), b_tumbling),
]


def records(fn, vals, n):
    for i in range(n):
        fn(vals[i & 63])


def loop(fn, vals=VALUES, n=N):
    """``fn`` over ``n`` records, as a run for benchkit_mp (the loop in a plain function:
    inside a closure, window filters ran measurably slower on the unix port)."""
    return lambda: records(fn, vals, n)


def alloc_per_record(fn, vals, n=200):
    loop(fn, vals, 20)()  # warmed up
    return allocated(loop(fn, vals, n)) // n


def main():
    graph = Graph()
    ratios, alloc, ints = {}, {}, {}
    for name, make, base in CASES:
        f = make()
        if hasattr(f, "bind"):
            f.bind(graph, Node())
        best = best_of([("f", loop(f)), ("b", loop(base))], ROUNDS)
        ratios[name] = int(100 * best["f"] / best["b"] + 0.5) / 100 if best["b"] else None
        alloc[name] = alloc_per_record(make() if not hasattr(f, "bind") else f, VALUES)
        ints[name] = alloc_per_record(make() if not hasattr(f, "bind") else f, INTS)
        gc.collect()
    print(json.dumps({"filters_ratio_vs_direct": ratios, "filters_float_alloc_bytes_per_record": alloc,
                      "filters_int_alloc_bytes_per_record": ints,
                      "filters_records_per_round": N}))


main()
