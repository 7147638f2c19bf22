"""What the filter modules share, kept small so each module imports only this: NaN as
chain data spells it, matching values (NaN matches NaN), C's rounding, and the periodic
task of the filters that send on their own. About 1 KB of heap.
"""
from math import floor

NAN = float("nan")
INF = float("inf")


def roundf(v):
    """C's roundf: halves round away from zero (Python's round() rounds them to even)."""
    return floor(v + 0.5) if v >= 0 else -floor(0.5 - v)


def number(v):
    """``v``, with "nan" (how chain data from JSON spells NaN) as NaN."""
    return NAN if v == "nan" else v


def matcher(values):
    """``values`` (one number or a list) as a tuple for ``matches``: NaN matches NaN."""
    return tuple(number(v) for v in values) if isinstance(values, (list, tuple)) else (number(values),)


def matches(values, x):
    for v in values:
        if v == x or (v != v and x != x):
            return True
    return False


def every(graph, node, ms, fn):
    """Spawn a task that, every ``ms`` from now, writes ``fn()`` (unless None) as ``node``'s output."""

    async def run():
        clock = graph.clock
        deadline = clock.now()
        while True:
            deadline = clock.add(deadline, ms)
            await clock.sleep_until(deadline)
            graph.write(node, fn())

    graph.spawn(run())
