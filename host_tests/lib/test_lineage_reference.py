"""rill.lineage against a brute-force reference. Every source value is its own record
number (a's n-th value is n), so a value carries its tag; each reference operator below
is a plain, unoptimised model of the filter that carries, with every value it holds,
the set of source records behind it, and names the union of the sets it computed a
result from. rill's origin of each output must equal that set's span, per source
({"a": [first, last]}): for every operator kind (latest, zip_seq, windows sliding,
tumbling and exponential, timers, diamonds, filters that drop, chains of them)."""
from rill import Pipeline
from rill.clock import VirtualClock
from rill.filters import (
    chain,
    debounce,
    exponential_moving_average,
    filter_out,
    heartbeat,
    latest,
    median,
    or_,
    sliding_window_moving_average,
    throttle_average,
    timeout,
    tumbling,
    zip_seq,
)
from testkit import heap_locked, run

MP_HEAPSIZE = "192K"


def lcg(seed):
    """A small deterministic sequence of ints (the same on every runtime)."""
    while True:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        yield seed >> 16


def span(tags):
    out = {}
    for src, n in tags:
        lo_hi = out.get(src)
        if lo_hi is None:
            out[src] = [n, n]
        else:
            lo_hi[0] = min(lo_hi[0], n)
            lo_hi[1] = max(lo_hi[1], n)
    return out


def union(tvs):
    s = set()
    for _v, t in tvs:
        s |= t
    return s


# The reference operators: tagged values (value, set of (source, record number)) in,
# a tagged value or None out.

class RWindow:
    def __init__(self, size, every, first, agg):
        self.size, self.every, self.first, self.agg = size, every, first, agg
        self.held = []
        self.calls = 0

    def feed(self, tv):
        self.held = (self.held + [tv])[-self.size:]
        self.calls += 1
        c = self.calls - self.first
        if c < 0 or c % self.every:
            return None
        return self.agg([v for v, _ in self.held]), union(self.held)


def mean(vs):
    return sum(vs) / len(vs)


def med(vs):
    s = sorted(vs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class REma:
    def __init__(self, alpha, every, first):
        self.alpha, self.every, self.first = alpha, every, first
        self.value = None
        self.seen = set()
        self.calls = 0

    def feed(self, tv):
        v, t = tv
        self.seen |= t  # an average is made of every value since its first
        self.value = v if self.value is None else self.alpha * v + (1 - self.alpha) * self.value
        self.calls += 1
        c = self.calls - self.first
        if c < 0 or c % self.every:
            return None
        return self.value, set(self.seen)


class RZip:
    def __init__(self, n, depth):
        self.q = [[] for _ in range(n)]
        self.depth = depth

    def feed(self, i, tv):
        q = self.q[i]
        q.append(tv)
        if len(q) > self.depth:
            q.pop(0)
        if all(self.q):
            got = [q.pop(0) for q in self.q]
            return [v for v, _ in got], union(got)
        return None


class RTumbling:
    def __init__(self, count):
        self.count = count
        self.held = []

    def feed(self, tv):
        self.held.append(tv)
        return self.emit() if len(self.held) >= self.count else None

    def emit(self):
        if not self.held:
            return None
        vs = [v for v, _ in self.held]
        out = ({"count": len(vs), "mean": sum(vs) / len(vs), "min": min(vs), "max": max(vs)}, union(self.held))
        self.held = []
        return out


def same(got, want):
    """rill's [(value, origin)] against the reference's [(value, tags)]."""
    want = [(v, span(t)) for v, t in want]
    assert len(got) == len(want), (len(got), len(want), got, want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, (i, g, w)


def watch(g, key, got):
    """Append (value, origin) to ``got`` if ``key`` was written since the last look."""
    rec = g.records[key]
    if rec.produced != SEEN.get(key, 0):
        SEEN[key] = rec.produced
        v = rec.value
        got.append((dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v,
                    g.lineage.origin(key)))


SEEN = {}  # record key -> its produced count at the last look


def one_input(fn, ref_feed, n=40, seed=1, drop=None):
    """Source a -> [drop filter ->] fn -> out, ``n`` values; rill against ``ref_feed``."""
    SEEN.clear()
    p = Pipeline()
    p.record("a", int)
    p.record("mid", int)
    p.record("out", object)
    p.source("a")
    p.transform("mid", drop or (lambda a: a), "a")
    p.transform("out", fn, "mid")
    g = p.build(lineage=True)
    got, want = [], []

    async def main():
        g.start()
        for i in range(1, n + 1):
            g.push("a", i)
            watch(g, "out", got)
            if drop is None or drop(i) is not None:
                r = ref_feed((i, {("a", i)}))
                if r is not None:
                    want.append(r)
        g.stop()

    run(main())
    return got, want


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


def two_sources(fn, ref_feed, n=60, seed=7):
    """Sources a and b written in a random order -> fn(a, b) -> out."""
    SEEN.clear()
    p = Pipeline()
    p.record("a", int)
    p.record("b", int)
    p.record("out", object)
    p.source("a")
    p.source("b")
    p.transform("out", fn, "a", "b")
    g = p.build(lineage=True)
    got, want = [], []
    count = {"a": 0, "b": 0}
    rnd = lcg(seed)

    async def main():
        g.start()
        for _ in range(n):
            src = "a" if next(rnd) % 3 else "b"  # a twice as often: zip_seq's queues fill and drop
            count[src] += 1
            k = count[src]
            g.push(src, k)
            watch(g, "out", got)
            r = ref_feed(0 if src == "a" else 1, (k, {(src, k)}))
            if r is not None:
                want.append(r)
        g.stop()

    run(main())
    return got, want


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


def timed(fn, events, end, lasts=None):
    """Source a -> fn -> out on a virtual clock: ``events`` (time, value) pushed in order;
    ``lasts`` gets, per output, the last value pushed before it."""
    SEEN.clear()
    clock = VirtualClock()
    p = Pipeline()
    p.record("a", int)
    p.record("out", object)
    p.source("a")
    p.transform("out", fn, "a")
    g = p.build(lineage=True)
    got = []
    last = [None]

    def look():
        watch(g, "out", got)
        if lasts is not None and len(lasts) < len(got):
            lasts.append(last[0])

    async def main():
        g.start(clock)
        t = 0
        for at, v in events + [(end, None)]:
            while t < at:  # a ms at a time, so that every timer write is seen
                await clock.advance(1)
                t += 1
                look()
            if v is not None:
                g.push("a", v)
                last[0] = v
                look()
        g.stop()

    run(main())
    return got


def events(seed, n, gap):
    rnd = lcg(seed)
    t, out = 0, []
    for i in range(1, n + 1):
        t += 1 + next(rnd) % gap
        out.append((t, i))
    return out


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
