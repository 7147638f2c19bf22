from rill import Pipeline
from rill.filters import (
    calibrate_linear,
    clamp,
    delta,
    exponential_moving_average,
    filter_out,
    median,
    multiply,
    offset,
    sliding_window_moving_average,
)
from testkit import raises


def feed(f, values):
    return [f(v) for v in values]


def test_offset_and_multiply():
    assert offset(2)(3) == 5
    assert multiply(1.5)(2) == 3.0


def test_calibrate_linear_two_points_is_exact():
    f = calibrate_linear([(0.0, 1.0), (10.0, 21.0)])
    assert abs(f(5.0) - 11.0) < 1e-6


def test_calibrate_linear_least_squares_and_bad_input():
    f = calibrate_linear([(0, 0), (1, 1), (2, 2.2)])
    assert abs(f.slope - 1.1) < 1e-6
    with raises(ValueError):
        calibrate_linear([(1, 1)])
    with raises(ValueError):
        calibrate_linear([(1, 1), (1, 2)])


def test_clamp_limits_or_ignores():
    assert feed(clamp(0, 10), [-5, 5, 15]) == [0, 5, 10]
    assert feed(clamp(0, 10, ignore_out_of_range=True), [-5, 5, 15]) == [None, 5, None]


def test_filter_out():
    assert feed(filter_out(85.0), [20.0, 85.0, 21.0]) == [20.0, None, 21.0]


def test_delta_passes_only_real_changes():
    assert feed(delta(0.5), [1.0, 1.2, 1.6, 1.0, 0.7]) == [1.0, None, 1.6, 1.0, None]


def test_sliding_window_moving_average_send_every():
    f = sliding_window_moving_average(window_size=3, send_every=2, send_first_at=1)
    out = feed(f, [3, 6, 9, 12, 15])
    assert out[0] == 3.0 and out[1] is None and out[2] == 6.0 and out[3] is None and out[4] == 12.0


def test_median_rejects_spike():
    f = median(window_size=5, send_every=1)
    out = feed(f, [20, 21, 500, 22, 21])
    assert out[-1] == 21.0


def test_exponential_moving_average():
    f = exponential_moving_average(alpha=0.5, send_every=1)
    assert feed(f, [10, 20, 20]) == [10, 15.0, 17.5]


def test_filters_in_a_pipeline():
    p = Pipeline()
    p.record("raw", float)
    p.record("smooth", float)
    p.record("alarm", bool)
    p.source("raw")
    p.transform("smooth", sliding_window_moving_average(4, 1), "raw")
    p.transform("alarm", lambda t: True if t > 30 else None, "smooth")
    g = p.build()
    for v in (20.0, 40.0, 40.0, 40.0):
        g.push("raw", v)
    assert g.records["smooth"].value == 35.0
    assert g.records["alarm"].value is True


def test_a_filter_loads_only_its_own_module_and_the_lookup_is_unloaded():
    """``from rill.filters import X`` loads the one small module holding X (an app pays for
    no sibling filters); rill.filters.names, which finds it and turns chain data into
    filters, is unloaded after each use."""
    import sys

    pkg = sys.modules["rill.filters"]
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("rill.filters.")}
    attrs = {k.split(".")[2]: pkg.__dict__.pop(k.split(".")[2], None) for k in saved}
    try:
        from rill.filters import sliding_window_moving_average as swma

        assert swma(3, 1)(6) == 6
        assert sorted(k for k in sys.modules if k.startswith("rill.filters.")) == ["rill.filters.window"]
        from rill.filters import chain

        assert chain([{"offset": 1}, {"median": {"window_size": 1, "send_every": 1}}])(2) == 3
        assert sorted(k for k in sys.modules if k.startswith("rill.filters.")) == [
            "rill.filters.lists", "rill.filters.order", "rill.filters.value", "rill.filters.window"]
        assert "names" not in pkg.__dict__
        with raises(AttributeError):
            assert pkg.no_such_filter is None  # never reached: AttributeError
        assert "rill.filters.names" not in sys.modules
    finally:
        for k in [k for k in sys.modules if k.startswith("rill.filters.")]:
            sys.modules.pop(k)
            pkg.__dict__.pop(k.split(".")[2], None)
        sys.modules.update(saved)
        for k, v in attrs.items():
            if v is not None:
                setattr(pkg, k, v)
