"""Windows and joins over several inputs (latest, zip_seq, tumbling), and a randomized run
of each against a naive reference written here."""
from rill import Pipeline
from rill.clock import VirtualClock
from rill.filters import latest, tumbling, zip_seq
from testkit import raises, run

NAN = float("nan")


def join(fn, n=2):
    """A pipeline: push sources a, b(, c) -> fn -> out; returns (graph, sent)."""
    sent = []
    p = Pipeline("join")
    keys = ["a", "b", "c"][:n]
    for k in keys:
        p.record(k)
        p.source(k)
    p.record("out")
    p.record("log")
    p.transform("out", fn, *keys)
    p.transform("log", lambda v: sent.append(list(v) if isinstance(v, list) else dict(v)), "out")
    return p.build(), sent


def test_latest_of_n():
    g, sent = join(latest(2))
    g.start(VirtualClock())
    g.push("a", 1)  # b has no value yet: nothing
    g.push("b", 10)
    g.push("a", 2)
    g.push("a", 3)
    g.stop()
    assert sent == [[1, 10], [2, 10], [3, 10]]
    assert latest(2, require_all=False)(1, None) == [1, None]
    with raises(ValueError):
        latest(4)


def test_zip_pairs_by_sequence_and_bounds_the_wait():
    g, sent = join(zip_seq(2, depth=2))
    fn = g.nodes[-2].fn
    g.start(VirtualClock())
    for v in (1, 2, 3):  # a runs ahead by three: the oldest is dropped, counted
        g.push("a", v)
    g.push("b", 10)
    g.push("b", 20)
    g.push("b", 30)  # waits for a's next
    g.push("a", 4)
    g.stop()
    assert sent == [[2, 10], [3, 20], [4, 30]]
    assert fn.dropped == 1


def test_tumbling_by_count():
    f = tumbling(count=3)
    got = [f(v) for v in (1, 5, NAN, 3)]
    assert got[:3] == [None, None, None]
    assert got[3] == {"count": 3, "mean": 3.0, "min": 1, "max": 5}  # NaN left out
    again = [f(v) for v in (2, 2, 9)]
    assert again[2] == {"count": 3, "mean": 13 / 3, "min": 2, "max": 9} and again[2] is got[3]  # one dict, reused
    with raises(ValueError):
        tumbling()
    with raises(ValueError):
        tumbling(count=3, ms=100)


def test_tumbling_by_time_over_two_inputs():
    clock = VirtualClock()
    g, sent = join(tumbling(ms=1000))

    async def main():
        g.start(clock)
        await clock.advance(100)
        g.push("a", 4)
        g.push("b", 8)
        await clock.advance(1000)  # t=1100: the window [0, 1000) went out
        await clock.advance(1000)  # nothing in [1000, 2000): nothing goes out
        g.push("b", -1)
        await clock.advance(1000)
        g.stop()

    run(main())
    assert sent == [{"count": 2, "mean": 6.0, "min": 4, "max": 8}, {"count": 1, "mean": -1.0, "min": -1, "max": -1}]


def test_randomized_joins_against_naive_reference():
    seed = [7]

    def rnd(n):
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (seed[0] >> 8) % n

    g, sent = join(zip_seq(3, depth=64), 3)
    t, tsent = join(tumbling(count=5), 3)
    g.start(VirtualClock())
    t.start(VirtualClock())
    streams = {"a": [], "b": [], "c": []}
    order = []
    for _ in range(240):
        k = "abc"[rnd(3)]
        v = rnd(1000)
        streams[k].append(v)
        order.append(v)
        g.push(k, v)
        t.push(k, v)
    g.stop()
    t.stop()
    n = min(len(s) for s in streams.values())
    assert sent == [[streams["a"][i], streams["b"][i], streams["c"][i]] for i in range(n)]
    want = []
    for i in range(0, len(order) - len(order) % 5, 5):
        w = order[i:i + 5]
        want.append({"count": 5, "mean": sum(w) / 5, "min": min(w), "max": max(w)})
    assert tsent == want


def test_tumbling_in_a_chain_takes_what_the_filters_before_it_send():
    from rill.filters import chain, offset

    g, sent = join(chain([offset(100), tumbling(count=2)]), 1)
    g.start(VirtualClock())
    for v in (1, 2, 3, 4):
        g.push("a", v)
    g.stop()
    assert sent == [{"count": 2, "mean": 101.5, "min": 101, "max": 102}, {"count": 2, "mean": 103.5, "min": 103,
                                                                        "max": 104}]
    with raises(ValueError):
        zip_seq(1)
