from rill import GraphError, Mailbox, Pipeline, Queue, Ring
from testkit import raises, run


def build_errors(p):
    with raises(GraphError) as e:
        p.build()
    return e.value.errors


def double(x):
    return 2 * x


def test_minimal_pipeline_builds():
    p = Pipeline("ok")
    p.record("raw", int)
    p.record("x2", int)
    p.source("raw")
    p.transform("x2", double, "raw")
    g = p.build()
    g.push("raw", 21)
    assert g.records["x2"].value == 42


def test_unknown_key_names_the_edge():
    p = Pipeline()
    p.record("a", int)
    p.source("a")
    p.transform("b", double, "a")
    errs = build_errors(p)
    assert any("transform double -> b: unknown record 'b'" in e for e in errs), errs


def test_unknown_input_names_the_edge():
    p = Pipeline()
    p.record("b", int)
    p.transform("b", double, "nope")
    errs = build_errors(p)
    assert any("nope -> transform double: unknown record 'nope'" in e for e in errs), errs


def test_two_writers_for_one_record():
    p = Pipeline()
    p.record("a", int)
    p.source("a", name="first")
    p.source("a", name="second")
    errs = build_errors(p)
    assert any("record 'a' already written by source first" in e for e in errs), errs


def test_input_nothing_produces():
    p = Pipeline()
    p.record("a", int)
    p.record("b", int)
    p.transform("b", double, "a")
    errs = build_errors(p)
    assert any("a -> transform double: nothing produces 'a'" in e for e in errs), errs


def test_type_mismatch_source_to_record():
    p = Pipeline()
    p.record("a", int)
    p.source("a", emits=str, name="reader")
    errs = build_errors(p)
    assert any("source reader -> a: emits str but record 'a' is int" in e for e in errs), errs


def test_type_mismatch_record_to_consumer():
    p = Pipeline()
    p.record("a", str)
    p.record("b", int)
    p.source("a")
    p.transform("b", double, "a", takes=int)
    errs = build_errors(p)
    assert any("a -> transform double: takes int but record 'a' is str" in e for e in errs), errs


def test_int_feeds_float_and_shapes_match_by_field():
    p = Pipeline()
    p.record("a", int)
    p.record("env", {"t": float, "h": float, "p": float})
    p.record("b", float)
    p.source("a")
    p.source("env")
    p.transform("b", lambda a, env: a + env["t"], "a", watch=("env",), takes=(float, {"t": float}))
    p.build()


def test_shape_mismatch_names_missing_field():
    p = Pipeline()
    p.record("env", {"t": float})
    p.record("b", float)
    p.source("env")
    p.transform("b", lambda env: env["h"], "env", takes={"h": float}, name="hum")
    errs = build_errors(p)
    assert any("takes {h: float} but record 'env' is {t: float}" in e for e in errs), errs


def test_cycle_is_reported():
    p = Pipeline()
    p.record("a", int)
    p.record("b", int)
    p.record("c", int)
    p.source("a")
    p.transform("b", lambda a, c: a, "a", watch=("c",), name="tb")
    p.transform("c", double, "b", name="tc")
    errs = build_errors(p)
    assert any(e.startswith("cycle: ") and "tb(b)" in e and "tc(c)" in e for e in errs), errs


def test_all_errors_reported_at_once():
    p = Pipeline()
    p.record("a", int)
    p.record("a", int)
    p.transform("x", double, "y")
    p.tap("z", print)
    errs = build_errors(p)
    assert len(errs) >= 4, errs


def test_queue_with_two_taps_is_rejected():
    p = Pipeline()
    p.record("q", int, Queue(4))
    p.source("q")
    p.tap("q", print, name="one")
    p.tap("q", print, name="two")
    errs = build_errors(p)
    assert any("queue 'q' is read by 2 taps (one, two)" in e for e in errs), errs


def test_ring_with_two_taps_is_fine():
    p = Pipeline()
    p.record("r", int, Ring(4))
    p.record("m", int, Mailbox())
    p.source("r")
    p.source("m")
    p.tap("r", print, name="one")
    p.tap("r", print, name="two")
    p.tap("m", print)
    p.build()


def test_periodic_read_needs_interval():
    p = Pipeline()
    p.record("a", int)
    p.source("a", read=lambda: 1, name="reader")
    errs = build_errors(p)
    assert any("source reader -> a: read= needs every_ms=" in e for e in errs), errs


def test_push_to_transform_output_is_refused():
    p = Pipeline()
    p.record("a", int)
    p.record("b", int)
    p.source("a")
    p.transform("b", double, "a")
    g = p.build()
    with raises(ValueError, match="push only to a record that a source declared"):
        g.push("b", 1)


def test_describe_and_mermaid():
    p = Pipeline("demo")
    p.record("raw", int, Ring(8))
    p.record("x2", int)
    p.source("raw", lambda: 1, every_ms=500, name="adc")
    p.transform("x2", double, "raw")
    p.tap("x2", print, name="log")
    g = p.build()
    text = g.describe()
    assert "record raw: int [ring 8]" in text
    assert "source adc -> raw (every 500 ms)" in text
    assert "transform double: raw -> x2 (depth 1)" in text
    assert "tap log <- x2" in text
    m = g.describe(mermaid=True)
    assert m.startswith("flowchart LR")
    assert "raw --> n1" in m and '{{"double"}} --> x2' in m


def test_depth_orders_diamond():
    p = Pipeline()
    for k in ("a", "b", "c", "d"):
        p.record(k, int)
    p.source("a")
    calls = []

    def called(name, fn):
        def call(*v):
            calls.append(name)
            return fn(*v)

        return call

    p.transform("d", called("join", lambda b, c: b + c), "b", "c", name="join")
    p.transform("b", called("left", double), "a", name="left")
    p.transform("c", called("right", lambda c: c + 1), "b", name="right")
    g = p.build()
    g.push("a", 1)
    assert calls == ["left", "right", "join"], calls
    assert g.records["d"].value == 2 + 3


def test_intercept_sees_every_source_write_until_ended():
    import asyncio

    from rill.io.recorder import intercept

    seen = []

    async def ticks(emit):
        for i in range(3):
            emit(i)
            await asyncio.sleep_ms(0)

    p = Pipeline()
    p.record("a", int)
    p.record("t", int)
    p.record("twice", int)
    p.source("a")
    p.source("t", task=ticks)
    p.transform("twice", double, "a")
    g = p.build()
    intercept(g, lambda k, v: seen.append((k, v)))
    g.push("a", 5)  # before start() too

    async def main():
        g.start()
        await asyncio.sleep_ms(10)
        g.stop()

    run(main())
    intercept(g, None)
    g.push("a", 6)
    assert seen == [("a", 5), ("t", 0), ("t", 1), ("t", 2)], seen
    assert g.records["twice"].value == 12
