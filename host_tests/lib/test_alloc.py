"""Steady state allocates nothing: proven under micropython.heap_lock() on the unix port,
where any allocation raises MemoryError. (On CPython these run unlocked, as plain tests.)"""
import asyncio

from rill import EMPTY, Latest, Mailbox, Pipeline, Queue, Ring
from testkit import MICROPYTHON, heap_locked, run

SMALL = 0  # small ints and preallocated objects never touch the heap


def add_one(x):
    return x + 1


def keep_even(x):
    return x if x & 1 == 0 else None


def three_stage():
    p = Pipeline("alloc")
    p.record("raw", int, Ring(16))
    p.record("plus", int)
    p.record("even", int, Ring(8))
    p.source("raw")
    p.transform("plus", add_one, "raw")
    p.transform("even", keep_even, "plus")
    return p


def test_buffers_put_and_read_without_allocating():
    bufs = [Ring(8), Latest(), Mailbox(), Queue(8)]
    readers = [b.reader() for b in bufs]
    for b in bufs:  # warm up: first writes may size instance dicts
        b.put(1)
    for r in readers:
        r.read()

    def loop():
        total = 0
        for i in range(2000):
            for b in bufs:
                b.put(i & 0xFF)
            for r in readers:
                v = r.read()
                if v is not EMPTY:
                    total += v
            readers[0].take_missed()
            readers[0].lag()
        return total

    assert heap_locked(loop) > 0


def test_ring_overrun_path_without_allocating():
    ring = Ring(4)
    r = ring.reader()
    ring.put(0)
    r.read()

    def loop():
        for _ in range(1000):
            for k in range(7):
                ring.put(k)
            while r.read() is not EMPTY:
                pass
        return r.take_missed()

    assert heap_locked(loop) == 3000


def test_dispatch_through_transforms_without_allocating():
    g = three_stage().build()
    g.push("raw", 0)
    reader = g.records["even"].reader()

    def loop():
        got = 0
        for i in range(3000):
            g.push("raw", i & 0x3FF)
            while reader.read() is not EMPTY:
                got += 1
        return got

    assert heap_locked(loop) == 1500
    assert g.records["even"].produced == 1500


def test_diamond_join_without_allocating():
    p = Pipeline()
    for k in ("a", "b", "c", "d"):
        p.record(k, int)
    p.source("a")
    p.transform("b", add_one, "a")
    p.transform("c", add_one, "a")
    p.transform("d", lambda b, c: b + c, "b", "c")
    g = p.build()
    g.push("a", 1)

    def loop():
        for i in range(2000):
            g.push("a", i)
        return g.records["d"].value

    assert heap_locked(loop) == 2 * 1999 + 2


def test_running_pipeline_with_taps_without_allocating():
    """Periodic source -> two transforms -> tap, on the real asyncio loop, heap locked."""
    state = {"n": 0, "tapped": 0}

    def read():
        state["n"] = (state["n"] + 1) & 0xFFFF
        return state["n"]

    def tap(v):
        state["tapped"] += 1

    p = three_stage()
    p.nodes = [n for n in p.nodes if n.kind != "source"]
    p.source("raw", read, every_ms=1, name="counter")
    p.tap("even", tap, name="count")
    g = p.build()

    async def main():
        g.start()
        await asyncio.sleep_ms(20)  # warm up: tasks created, dicts sized
        before = state["tapped"]
        if MICROPYTHON:
            import micropython

            micropython.heap_lock()
        try:
            for _ in range(40):
                await asyncio.sleep_ms(1)
        finally:
            if MICROPYTHON:
                micropython.heap_unlock()
        g.stop()
        return state["tapped"] - before

    tapped = run(main())
    assert tapped > 5, tapped
    src = g.sources[0]
    assert src.errors == 0, src.error  # a MemoryError in the source would be counted here
    assert g.taps[0].errors == 0, g.taps[0].error
