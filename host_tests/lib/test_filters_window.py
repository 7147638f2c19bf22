"""Windowed filters: tables from ESPHome's pages (cited per test), and a long randomized
run of each against a naive reference written here."""
from floats import same
from rill.filters import (
    exponential_moving_average,
    max,
    median,
    min,
    quantile,
    sliding_window_moving_average,
)
from testkit import raises

NAN = float("nan")


def outputs(f, values):
    return [f(v) for v in values]


def assert_same(got, want):
    assert len(got) == len(want) and all(same(g, w) for g, w in zip(got, want)), "%r != %r" % (got, want)


def test_send_first_at_and_send_every_count_as_esphome():
    # https://esphome.io/components/sensor/filter/median/ : window_size 7, send_every 4,
    # send_first_at 3: the first result after the 3rd value, then after every 4th
    f = median(window_size=7, send_every=4, send_first_at=3)
    got = outputs(f, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    assert [i + 1 for i, v in enumerate(got) if v is not None] == [3, 7, 11]
    assert got[2] == 2 and got[6] == 4 and got[10] == 8  # medians of 1..3, 1..7, 5..11


def test_defaults_follow_esphome():
    # https://esphome.io/components/sensor/filter/sliding_window_moving_average/ (15, 15, 1),
    # .../median/ .../quantile/ .../min/ .../max/ (5, 5, 1), .../exponential_moving_average/ (0.1, 15, 1)
    for f, size, every in ((sliding_window_moving_average(), 15, 15), (median(), 5, 5), (quantile(), 5, 5),
                           (min(), 5, 5), (max(), 5, 5)):
        assert (f.size, f.every, f.at) == (size, every, every - 1)
    assert quantile().q == 0.9
    ema = exponential_moving_average()
    assert (ema.alpha, ema.every, ema.at) == (0.1, 15, 14)
    with raises(ValueError):
        median(5, 5, 6)  # send_first_at must not exceed send_every
    with raises(ValueError):
        sliding_window_moving_average(0)
    with raises(ValueError):
        quantile(quantile=1.5)


def test_window_edges_and_nan():
    # the first value goes out at once (send_first_at 1); a window not yet full uses what it has
    assert_same(outputs(sliding_window_moving_average(3, 1), [3, 6, 9, 12]), [3.0, 4.5, 6.0, 9.0])
    # NaN sits in the window but is left out; a window of only NaN gives NaN
    assert_same(outputs(sliding_window_moving_average(2, 1), [NAN, 4, NAN, NAN, 8]), [NAN, 4.0, 4.0, NAN, 8.0])
    assert_same(outputs(median(3, 1), [NAN, 5, 1, NAN, NAN, NAN]), [NAN, 5, 3.0, 3.0, 1, NAN])
    assert_same(outputs(min(2, 1), [NAN, 3, 1, NAN, NAN]), [NAN, 3, 1, 1, NAN])
    assert_same(outputs(max(2, 1), [NAN, 3, 1, NAN, NAN]), [NAN, 3, 3, 1, NAN])


def test_median_even_window_and_spike():
    assert outputs(median(4, 4, 4), [4, 1, 3, 2])[3] == 2.5  # the middle two, averaged
    assert outputs(median(5, 1), [20, 21, 500, 22, 21])[-1] == 21


def test_quantile():
    # https://esphome.io/components/sensor/filter/quantile/ : window_size 7, send_every 4,
    # send_first_at 3, quantile .9: the value at sorted position ceil(n * q) - 1
    f = quantile(window_size=7, send_every=4, send_first_at=3, quantile=0.9)
    got = outputs(f, [10, 50, 30, 20, 70, 60, 40])
    assert got[2] == 50 and got[6] == 70 and got.count(None) == 5
    assert outputs(quantile(4, 1, quantile=0), [5, 1, 3])[-1] == 1
    assert outputs(quantile(4, 1, quantile=0.5), [5, 1, 3, 2])[-1] == 2
    assert same(outputs(quantile(3, 1), [NAN, NAN])[-1], NAN)


def test_exponential_moving_average():
    # https://esphome.io/components/sensor/filter/exponential_moving_average/ : starts at the
    # first value; a NaN leaves the average alone and is itself sent when a result is due
    assert_same(outputs(exponential_moving_average(0.5, 1), [10, 20, 20]), [10, 15.0, 17.5])
    assert_same(outputs(exponential_moving_average(0.5, 1), [NAN, 10, NAN, 20]), [NAN, 10, NAN, 15.0])
    assert outputs(exponential_moving_average(0.5, 2, 2), [10, 20, 30, 40])[1::2] == [15.0, 31.25]


class Lcg:
    """The same pseudo-random sequence on both runtimes."""

    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


def naive(kind, window, q=0.9):
    vals = sorted(v for v in window if v == v)
    if not vals:
        return NAN
    if kind == "mean":
        return sum(vals) / len(vals)
    if kind == "min":
        return vals[0]
    if kind == "max":
        return vals[-1]
    if kind == "median":
        h = len(vals) // 2
        return vals[h] if len(vals) % 2 else (vals[h - 1] + vals[h]) / 2
    pos = -(-len(vals) * q // 1) - 1  # ceil(n * q) - 1
    return vals[int(pos) if pos > 0 else 0]


def test_randomized_windows_against_naive_reference():
    rnd = Lcg(12345)
    kinds = (("mean", sliding_window_moving_average), ("min", min), ("max", max), ("median", median),
             ("quantile", quantile))
    for trial in range(12):
        size, every = 1 + rnd.next(9), 1 + rnd.next(6)
        first = 1 + rnd.next(every)
        values = [NAN if rnd.next(10) == 0 else rnd.next(100) - 20 for _ in range(400)]
        for kind, cls in kinds:
            f = cls(size, every, first) if kind != "quantile" else cls(size, every, first, 0.75)
            for i, v in enumerate(values):
                got = f(v)
                n = i + 1
                due = n >= first and (n - first) % every == 0
                if not due:
                    assert got is None, (kind, trial, n)
                    continue
                want = naive(kind, values[n - size if n > size else 0:n], 0.75)
                assert same(got, want), (kind, trial, n, got, want)
