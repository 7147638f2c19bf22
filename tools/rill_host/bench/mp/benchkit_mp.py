"""What the MicroPython-side benches (bench/mp/bench_*_mp.py) share: the best of
interleaved rounds, and the heap a run allocates. Runs on the unix port.

    best = best_of([("plain", fn), ("recorded", other)], ROUNDS, loop)   # {name: least µs}
    per_run = allocated(fn, loop)                                          # heap bytes

A run is a function of no arguments. When it returns a coroutine (and ``loop`` is
given), what counts is running that coroutine to its end on ``loop``, where the
pipelines' tasks run; otherwise the call itself.
"""
import gc
from time import ticks_diff, ticks_us


async def timed(coro):
    """µs that ``coro`` takes to finish."""
    t0 = ticks_us()
    await coro
    return ticks_diff(ticks_us(), t0)


def _awaitable(r, loop):
    return loop is not None and hasattr(r, "send")  # a coroutine (a generator on MicroPython)


def best_of(runs, rounds, loop=None):
    """{name: least µs} over ``rounds`` rounds of the ``(name, run)`` pairs, interleaved
    (the machine is shared: a slow moment costs every run alike), each run after a
    collection, so that each starts on an equally empty heap."""
    best = {}
    for _ in range(rounds):
        for name, run in runs:
            gc.collect()
            t0 = ticks_us()
            r = run()
            us = loop.run_until_complete(timed(r)) if _awaitable(r, loop) else ticks_diff(ticks_us(), t0)
            if name not in best or us < best[name]:
                best[name] = us
    return best


def allocated(run, loop=None):
    """Heap bytes allocated by ``run`` (the collector off, so nothing is reclaimed)."""
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    r = run()
    if _awaitable(r, loop):
        loop.run_until_complete(r)
    b = gc.mem_alloc()
    gc.enable()
    return b - a
