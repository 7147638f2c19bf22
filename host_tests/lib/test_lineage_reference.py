"""rill.lineage against a brute-force reference (lineage_ref.py): every output's origin is
the span of the source records the reference operator used, for every operator kind:
latest, zip_seq, windows sliding, tumbling and exponential, diamonds, filters that drop,
chains and or_ of them (timers: test_lineage_timed.py)."""
from lineage_ref import (
    SEEN,
    REma,
    RTumbling,
    RWindow,
    RZip,
    mean,
    med,
    one_input,
    same,
    two_sources,
    union,
    watch,
)
from rill import Pipeline
from rill.filters import (
    chain,
    exponential_moving_average,
    filter_out,
    latest,
    median,
    or_,
    sliding_window_moving_average,
    tumbling,
    zip_seq,
)
from testkit import run

MP_HEAPSIZE = "192K"


def test_a_sliding_window_names_every_value_it_averaged():
    # the issue's case: a window of 4 sent every 2nd value averages a#2..a#5 and must name them all
    for size, every, first in ((4, 2, 2), (3, 3, 3), (5, 1, 1), (2, 4, 1)):
        ref = RWindow(size, every, first, mean)
        got, want = one_input(sliding_window_moving_average(size, every, first), ref.feed)
        same(got, want)


def test_order_windows_behind_a_filter_that_drops():
    ref = RWindow(3, 2, 1, med)
    got, want = one_input(median(3, 2), ref.feed, drop=lambda a: a if a % 3 else None)
    same(got, want)
    assert got[1][1] == {"a": [1, 4]}, got  # a#1, a#2, a#4: a#3 was dropped, but is inside the span


def test_an_exponential_average_names_every_value_since_its_first():
    ref = REma(0.5, 3, 2)
    got, want = one_input(exponential_moving_average(0.5, 3, 2), ref.feed)
    same(got, want)


def test_a_tumbling_window_names_its_values():
    ref = RTumbling(4)
    got, want = one_input(tumbling(count=4), ref.feed, drop=lambda a: None if a % 5 == 0 else a)
    same(got, want)


def test_a_chain_carries_each_filters_origin_to_the_next():
    # a median of 3 every value, then an average of 2 of those every 2nd: 4 records behind each
    r1 = RWindow(3, 1, 1, med)
    r2 = RWindow(2, 2, 2, mean)

    def ref(tv):
        m = r1.feed(tv)
        return None if m is None else r2.feed(m)

    got, want = one_input(chain([filter_out(7), median(3, 1), sliding_window_moving_average(2, 2, 2)]),
                          lambda tv: None if tv[0] == 7 else ref(tv))
    same(got, want)


def test_or_names_the_filter_whose_result_passed():
    ra = RWindow(2, 2, 2, mean)
    rb = RWindow(3, 3, 3, mean)

    def ref(tv):
        x, y = ra.feed(tv), rb.feed(tv)
        return x if x is not None else y

    got, want = one_input(or_([sliding_window_moving_average(2, 2, 2), sliding_window_moving_average(3, 3, 3)]),
                          ref)
    same(got, want)


def test_zip_seq_names_the_pair_it_emitted():
    ref = RZip(2, 3)
    got, want = two_sources(zip_seq(2, depth=3), ref.feed)
    same(got, want)
    assert all(v[0] == o["a"][0] == o["a"][1] and v[1] == o["b"][0] for v, o in got), got


def test_zip_seq_the_issues_case():
    # a#1, a#2, then b#1: the pair is (a#1, b#1), not a#2
    ref = RZip(2, 8)
    SEEN.clear()
    p = Pipeline()
    for k in ("a", "b"):
        p.record(k, int)
        p.source(k)
    p.record("pair", object)
    p.transform("pair", zip_seq(2), "a", "b")
    g = p.build(lineage=True)
    got = []

    async def main():
        g.start()
        for src, v in (("a", 1), ("a", 2), ("b", 1)):
            g.push(src, v)
            watch(g, "pair", got)
            ref.feed(0 if src == "a" else 1, (v, {(src, v)}))
        g.stop()

    run(main())
    assert got == [([1, 1], {"a": [1, 1], "b": [1, 1]})], got


def test_a_tumbling_window_over_two_inputs_names_only_the_values_it_took():
    ref = RTumbling(3)
    got, want = two_sources(tumbling(count=3), lambda i, tv: ref.feed(tv))
    same(got, want)


def test_latest_names_the_newest_of_each():
    cur = [None, None]

    def ref(i, tv):
        cur[i] = tv
        return None if None in cur else ([cur[0][0], cur[1][0]], cur[0][1] | cur[1][1])

    got, want = two_sources(latest(2), ref)
    same(got, want)


def test_a_diamond_with_a_branch_that_drops():
    SEEN.clear()
    p = Pipeline()
    for k in ("a", "b", "c", "d", "e"):
        p.record(k, int)
    p.source("a")
    p.transform("b", lambda a: a + 100, "a")
    p.transform("c", lambda a: a if a % 3 == 0 else None, "a")
    p.transform("d", lambda b, c: b + c, "b", "c")
    p.transform("e", sliding_window_moving_average(2, 1, 1), "d")
    g = p.build(lineage=True)
    got_d, got_e, want_d, want_e = [], [], [], []
    b = c = None
    hist = []
    for i in range(1, 25):
        g.push("a", i)
        watch(g, "d", got_d)
        watch(g, "e", got_e)
        b = (i + 100, {("a", i)})
        if i % 3 == 0:
            c = (i, {("a", i)})
        if c is not None:
            d = (b[0] + c[0], b[1] | c[1])
            want_d.append(d)
            hist = (hist + [d])[-2:]
            want_e.append((mean([v for v, _ in hist]), union(hist)))
    same(got_d, want_d)
    same(got_e, want_e)
