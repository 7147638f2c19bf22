"""Tables for the one-value-at-a-time and calibration filters, from ESPHome's pages:
https://esphome.io/components/sensor/filter/<name>/ (each test names its page)."""
from floats import same
from rill.filters import (
    calibrate_linear,
    calibrate_polynomial,
    chain,
    clamp,
    delta,
    filter_out,
    lambda_,
    multiply,
    offset,
    round,
    round_to_multiple_of,
    round_to_significant_digits,
    skip_initial,
    to_ntc_resistance,
    to_ntc_temperature,
)
from testkit import raises

NAN = float("nan")
INF = float("inf")


def check(f, table):
    for x, want in table:
        got = f(x)
        assert same(got, want), "%r -> %r, expected %r" % (x, got, want)


def test_offset_multiply_lambda():
    # https://esphome.io/components/sensor/filter/offset/ , .../multiply/ , .../lambda/
    check(offset(2.0), [(1.0, 3.0), (-2.0, 0.0), (NAN, NAN)])
    check(multiply(1.2), [(10.0, 12.0), (NAN, NAN)])
    check(lambda_(lambda x: x * 2 if x > 0 else None), [(2, 4), (-1, None)])


def test_filter_out_values_and_nan():
    # https://esphome.io/components/sensor/filter/filter_out/ : one value, a list, or nan
    check(filter_out(85.0), [(20.0, 20.0), (85.0, None), (NAN, NAN)])
    check(filter_out([42.0, 85.0]), [(42.0, None), (85.0, None), (43.0, 43.0)])
    check(filter_out(NAN), [(NAN, None), (1.0, 1.0)])
    check(filter_out(85.0, accuracy_decimals=1), [(85.04, None), (85.06, 85.06)])


def test_clamp_bounds_nan_and_infinities():
    # https://esphome.io/components/sensor/filter/clamp/ : NaN to the lower bound if set,
    # else the upper; infinities to the bound on their side, if set
    check(clamp(10, 75), [(5, 10), (50, 50), (80, 75), (NAN, 10), (INF, 75), (-INF, 10)])
    check(clamp(max_value=75), [(NAN, 75), (-INF, -INF), (80, 75)])
    check(clamp(10, 75, ignore_out_of_range=True), [(5, None), (50, 50), (80, None), (NAN, None)])
    with raises(ValueError):
        clamp()


def test_round_filters():
    # https://esphome.io/components/sensor/filter/round/
    check(round(1), [(27.80117416381836, 27.8), (2.25, 2.3), (-2.25, -2.3), (NAN, NAN), (INF, INF), (3, 3)])
    check(round(0), [(2.5, 3.0), (-2.5, -3.0)])  # halves away from zero, as C's roundf
    # https://esphome.io/components/sensor/filter/round_to_multiple_of/
    # a tie goes to the even multiple (ESPHome computes value - remainderf(value, multiple))
    check(round_to_multiple_of(10), [(123, 120), (126, 130), (125, 120), (135, 140), (-125, -120), (-126, -130),
                                     (-123, -120), (NAN, NAN), (12.5, 10.0), (INF, INF)])
    check(round_to_multiple_of(0.25), [(3.1415, 3.25), (1.6180, 1.5)])
    # https://esphome.io/components/sensor/filter/round_to_significant_digits/
    check(round_to_significant_digits(2), [(3.14159, 3.1), (157079, 160000), (0, 0), (NAN, NAN), (-0.012345, -0.012)])
    check(round_to_significant_digits(4), [(3.14159, 3.142), (157079, 157100)])
    with raises(ValueError):
        round_to_significant_digits(7)
    with raises(ValueError):
        round_to_multiple_of(0)


def test_skip_initial():
    # https://esphome.io/components/sensor/filter/skip_initial/
    f = skip_initial(3)
    assert [f(v) for v in (1, 2, 3, 4, 5)] == [None, None, None, 4, 5]
    f = skip_initial(1)  # NaN counts as a value
    check(f, [(NAN, None), (NAN, NAN), (2, 2)])


def test_delta_absolute_percentage_and_bounds():
    # https://esphome.io/components/sensor/filter/delta/ : the first value passes; then only
    # values that differ from the last passed one by more than min_value (and at most max_value)
    check(delta(2.0), [(10.0, 10.0), (11.0, None), (12.0, None), (12.5, 12.5), (10.5, None), (10.4, 10.4)])
    check(delta(0), [(1, 1), (1, None), (2, 2)])  # min_value 0: drops duplicates
    check(delta("10%"), [(100.0, 100.0), (109.0, None), (111.0, 111.0), (100.0, None), (99.0, 99.0)])
    check(delta(1, max_value=10), [(0, 0), (50, None), (5, 5)])  # a jump over max_value is dropped
    check(delta(1, baseline=20), [(0, 0), (20.5, None), (25, 25), (19, None)])
    check(delta(1), [(NAN, NAN), (5, 5), (NAN, None), (7, 7)])


def test_calibrate_linear_least_squares_and_exact():
    # https://esphome.io/components/sensor/filter/calibrate_linear/ : 0.0 -> 1.0, 10.0 -> 12.1
    check(calibrate_linear([(0.0, 1.0), (10.0, 12.1)]), [(0.0, 1.0), (10.0, 12.1), (5.0, 6.55), (NAN, NAN)])
    exact = calibrate_linear([(0.0, 0.0), (10.0, 20.0), (20.0, 25.0)], method="exact")
    check(exact, [(5.0, 10.0), (10.0, 20.0), (15.0, 22.5), (30.0, 30.0), (-5.0, -10.0), (NAN, NAN)])
    with raises(ValueError):
        calibrate_linear([(1, 1)])
    with raises(ValueError):
        calibrate_linear([(1, 1), (1, 2)], method="exact")
    with raises(ValueError):
        calibrate_linear([(1, 1), (2, 2)], method="cubic")


def test_esphome_validations_refuse_what_esphome_refuses():
    # ESPHome refuses these configurations; rill used to accept them (issue 18): exact
    # calibration of unsorted points (it sorted them), a clamp with min > max, a delta with no bound
    with raises(ValueError, match="sorted by measured value"):
        calibrate_linear([(10.0, 20.0), (0.0, 0.0), (20.0, 25.0)], method="exact")
    with raises(ValueError, match="clamp's min_value (5) is larger than its max_value (1)"):
        clamp(5, 1)
    with raises(ValueError, match="delta needs min_value or max_value"):
        delta()
    clamp(1, 1)  # equal bounds are a constant, which ESPHome accepts
    calibrate_linear([(10.0, 20.0), (0.0, 0.0)])  # least squares takes any order
    check(delta(max_value=5), [(0, 0), (0, None), (3, 3), (20, None)])  # max alone: min 0
    for spec, name in (({"calibrate_linear": {"datapoints": [[1, 1], [0, 0]], "method": "exact"}}, "calibrate_linear"),
                       ({"clamp": {"min_value": 5, "max_value": 1}}, "clamp"), ({"delta": {}}, "delta")):
        with raises(ValueError, match="filter '%s': " % name):  # from chain data: one sentence naming the filter
            chain([spec])


def test_calibrate_polynomial():
    # https://esphome.io/components/sensor/filter/calibrate_polynomial/ : degree 2 through
    # three datapoints fits them exactly
    f = calibrate_polynomial([(0.0, 0.0), (10.0, 12.1), (13.0, 14.0)], degree=2)
    check(f, [(0.0, 0.0), (10.0, 12.1), (13.0, 14.0), (NAN, NAN)])
    line = calibrate_polynomial([(0, 1), (1, 3), (2, 5), (3, 7)], degree=1)
    check(line, [(10, 21)])
    with raises(ValueError):
        calibrate_polynomial([(0, 0), (1, 1)], degree=2)


def test_ntc_steinhart_hart_from_three_datapoints():
    # https://esphome.io/components/sensor/filter/to_ntc_temperature/ : 10.0kOhm -> 25°C,
    # 27.219kOhm -> 0°C, 14.674kOhm -> 15°C: the fitted curve goes through all three
    points = [(10000.0, 25.0), (27219.0, 0.0), (14674.0, 15.0)]
    t = to_ntc_temperature(points)
    check(t, [(10000.0, 25.0), (27219.0, 0.0), (14674.0, 15.0), (NAN, NAN), (-1.0, NAN), (INF, NAN)])
    # https://esphome.io/components/sensor/filter/to_ntc_resistance/ : the inverse
    r = to_ntc_resistance(points)
    check(r, [(25.0, 10000.0), (0.0, 27219.0), (15.0, 14674.0), (NAN, NAN), (-300.0, NAN)])
    check(r, [(60.0, r(60.0))])
    assert same(t(r(60.0)), 60.0)


def test_ntc_b_constant_and_coefficients():
    # https://esphome.io/components/sensor/ntc/ : b_constant 3950, 25°C, 10kOhm
    cal = {"b_constant": 3950, "reference_temperature": 25, "reference_resistance": 10000}
    t, r = to_ntc_temperature(cal), to_ntc_resistance(cal)
    check(t, [(10000.0, 25.0)])
    check(r, [(25.0, 10000.0)])
    assert same(t(r(80.0)), 80.0)
    abc = to_ntc_temperature({"a": t.a, "b": t.b, "c": t.c})
    assert same(abc(5000.0), t(5000.0))


def test_chain_builds_from_data():
    c = chain([{"offset": 2.0}, {"multiply": 10}, {"round": 0}, {"clamp": {"max_value": 100}}])
    assert [c(v) for v in (1.04, 20.0)] == [30.0, 100]
    with raises(ValueError, match="no filter is named"):
        chain([{"nope": 1}])
    with raises(ValueError, match="'clamp'"):
        chain([{"clamp": {"bogus": 1}}])
    with raises(ValueError):
        chain([{"offset": 1, "multiply": 2}])


def test_chain_from_json_text_as_a_board_reads_it():
    import json

    text = ('[{"filter_out": "nan"}, {"timeout": {"ms": 1000, "value": "nan"}}, {"median": null},'
            ' {"or": [{"delta": 0}]}]')
    c = chain(json.loads(text))
    assert c.filters[1].value != c.filters[1].value  # "nan" is NaN
    assert [c(v) for v in (NAN, 4.0, 1.0, 2.0, 3.0, 9.0, 8.0)] == [None, 4.0, None, None, None, None, 3.0]


def chain_example(run, code):
    """docs/filters.md's chain example (test_examples.py runs it on every runtime)."""
    assert run()["sent"] == [22.0, None, None, 27.0]
