"""The brute-force reference the lineage tests (test_lineage_reference.py,
test_lineage_timed.py) check rill.lineage against. Every source value is its own record
number (a's n-th value is n), so a value carries its tag; each reference operator here
is a plain, unoptimised model of a filter that carries, with every value it holds, the
set of source records behind it, and names the union of the sets it computed a result
from. rill's origin of each output must equal that set's span, per source ({"a":
[first, last]}). Also the drivers: a pipeline fed and watched output by output."""
from rill import Pipeline
from rill.clock import VirtualClock
from testkit import run


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
