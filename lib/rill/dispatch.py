"""The reference dispatch: a small interpreter of a writer's step table, the plain
reading of the rule. It runs whenever no host-built fast path applies (rill.wiring).

A *step* is a plain tuple, made by rill.wiring:
    (fn, n, trig, bit, args, out, put, wake, node, lin)
- fn: the transform; None for the table's first step, which writes the dispatched value.
- n: how many values fn takes (inputs, then watched records); args: their buffers.
- trig: mask of the earlier steps whose write triggers this one; bit: this step's own.
- out: the buffer written; put: its put(), or None for exactly a Latest (stored into).
- wake: what wakes the taps on out: None (no tap), the tap's Signal, or a
  rill.fanout.Fanout of their Signals; node: the Node, for counters and Node.fail.
- lin: None without lineage; a source's index for a source's write; else the
  transform's accumulator, for rill.lineage's bookkeeping.

Each step runs only if a step in its trigger mask wrote (a diamond joins once), in
depth order; None counts ``filtered``; a raise in a transform or in its write is that
transform's failure (``Node.fail``: its graph counts it); a refusing Queue stops what
is downstream. The first step's raise (QueueFull) goes to the caller. Allocates
nothing per record: up to 8 inputs take fixed-arity calls; more go through the step's
preallocated list.
Heap: this module, about 1.5 KB (32-bit), loaded only when a writer runs here (no
host-built function for it), and a table per writer (some 100 B a step).
"""
import micropython
from micropython import const

_WRAP = const(0x3FFFFFFF)


def _many(fn, a, n):
    """fn called with the values of the buffers ``a`` (n of them, 4 or more)."""
    if n == 4:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value)
    if n == 5:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value)
    if n == 6:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value)
    if n == 7:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value, a[6].value)
    if n == 8:
        return fn(a[0].value, a[1].value, a[2].value, a[3].value, a[4].value, a[5].value, a[6].value, a[7].value)
    vals = a[-1]  # more than 8: the list wiring appended to the inputs (the runtime's own call may allocate)
    for i in range(n):
        vals[i] = a[i].value
    return fn(*vals)


@micropython.native
def run(steps, v, fail, L):
    """Dispatch ``v`` through ``steps`` (the table above). ``L``: None, or rill.lineage's
    (wrote, take, give, number of sources)."""
    w = 0
    r = v
    for fn, n, trig, bit, args, o, put, wake, node, lin in steps:
        if fn is not None:
            if not trig & w:
                continue
            try:
                if lin is not None:
                    for j in range(n):
                        L[1](lin, args[j], L[3], j)  # the first input's origin, widened by the others'
                if n == 1:
                    r = fn(args[0].value)
                elif n == 2:
                    r = fn(args[0].value, args[1].value)
                elif n == 3:
                    r = fn(args[0].value, args[1].value, args[2].value)
                else:
                    r = _many(fn, args, n)
                if r is None:
                    node.filtered = (node.filtered + 1) & _WRAP
                    continue
                if put is None:
                    o.value = r
                    o.produced = (o.produced + 1) & _WRAP
                elif not put(r):
                    continue  # a full DROP queue refused it (counted there): nothing downstream
                if lin is not None:
                    L[2](lin, o, L[3])
            except Exception as e:
                fail(node, args[0].value, e)
                continue
        else:  # the dispatched value's write: a raise (QueueFull) is the caller's
            if put is None:
                o.value = v
                o.produced = (o.produced + 1) & _WRAP
            elif not put(v):
                return
            if lin is not None:
                if node.kind == "source":
                    L[0](o, lin, L[3])
                else:  # a transform's own write (graph.write, from its timers)
                    L[2](lin, o, L[3])
        w |= bit
        if wake is not None and not wake.pending:
            wake.set()


def writer(steps, fail, L):
    """The reference dispatch of one writer: ``dispatch(value)``."""

    def dispatch(v):
        run(steps, v, fail, L)

    return dispatch
