"""Build-time: write each writer's dispatch plan as one straight-line function.

A plan (rill.check.plan) is a write and the transforms downstream, in depth order, each
with the mask of the earlier steps whose write triggers it. Everything a generic loop
would test on every record (how many inputs, which buffer, which taps to wake) is known
once the graph is wired, so it becomes code instead: for ``raw -> milli -> out`` with a
tap on ``out`` the function is, in effect,

    def dispatch(v):
        raw.value = v; raw.produced = ...       # the write: a Latest is stored into directly
        try:
            r1 = to_milli(v)                    # the input just written: a local
            if r1 is None: ...filtered += 1
            else:
                milli.value = r1; ...
                try:
                    r2 = keep_positive(r1)
                    ...
                    h = out._head; slots[h] = r2 ...  # a Ring too (a Queue: its put())
                    if not tap_signal.pending: tap_signal.set()

Each step runs only if a step in its trigger mask wrote (a diamond joins once); a raise
in a transform or its write is that transform's failure (``graph.fail``) and stops only
what depends on it. The function takes any number of inputs without ``*args`` and
allocates nothing per call; rill.native compiles it, as ``@micropython.native`` where
the port can. Graph loads this module while it wires a graph, and it unloads itself
before the compiling starts, so only the compiled functions stay in the heap (``make
bench``: graph_build_bytes).

Heap: building needs this module (about 6.8 KB, 64-bit) and the texts, then rill.native
and the compiler's working memory, about five times a text (some 350 B per step):
``build()`` of a small pipeline needs about 11 KB more free heap than the step tables
this replaced (``make bench``: min_heap_kb). Native code is not freed on the ESP32
(it lives in IRAM) nor on the unix port: a program that builds graphs again and again
there uses that memory up, and then gets bytecode.
"""
import io
import sys

_WRAP = 0x3FFFFFFF
_NEST = 8

# A *step* is a plain tuple, made by ``wire`` and written as code by ``write_plan``:
#   (fn, n, trig, bit, first, args, out, put, wake, node)
# - fn: the transform, called with the inputs' values; None for the plan's first step,
#   which writes the value being dispatched.
# - n: how many values fn takes (inputs, then watched records).
# - trig: bitmask of the earlier steps whose write triggers this one (a plan has at most
#   rill.check._MAX_STEPS steps, so that the mask stays a small int).
# - bit: this step's bit (1 << its index), set in the dispatch's mask when it writes.
# - first: the first input's buffer; args: all the input buffers.
# - out: the buffer written; put: its put, or None for a Latest, which is stored into.
# - wake: the Signals of the taps on out.
# - node: the transform's Node, for its counters and fail().
# A plan is a writer's steps: its write, then the transforms downstream in depth order.



def _source(steps, fail, consts, lineage=None, text=None):
    """Write the function's body, from the step tuples (above), to ``text`` (or
    nowhere); return its length. ``consts`` receives the objects it names k0, k1, ...:
    default arguments, the fastest locals to set up. With ``lineage``
    (rill.lineage.Lineage), each write records its origin too."""
    size = [0]

    def add(line):
        size[0] += len(line) + 1
        if text is not None:
            text.write(line)
            text.write("\n")

    if lineage is not None:
        from . import lineage as lin

    def k(obj):
        for j, c in enumerate(consts):
            if c is obj:
                return "k%d" % j
        consts.append(obj)
        return "k%d" % (len(consts) - 1)

    writer = {}  # record key -> the step that writes it
    for i, step in enumerate(steps):
        writer[step[6].key] = i
    # A step whose only trigger is the step just before it, and which reads nothing else
    # written in this dispatch, runs inside that step's write: no mask test. The order of
    # the steps is unchanged. Any other step tests the mask of the steps that wrote.
    # (At most _NEST deep: CPython compiles at most 20 nested blocks, each a try here.)
    inner = [False] * len(steps)
    depth = [0] * len(steps)
    used = 0
    for i in range(1, len(steps)):
        trig = steps[i][2]
        if trig & 1:
            continue  # triggered by the dispatch's own write, which has happened
        others = [b for b in steps[i][5] if writer.get(b.key, i - 1) != i - 1]
        if trig == steps[i - 1][3] and not others and depth[i - 1] < _NEST:
            inner[i] = True
            depth[i] = depth[i - 1] + 1
        else:
            used |= trig

    def value_of(buf, trig, i):
        """An input's value: the local just written, when its step is this one's only
        trigger (so it certainly wrote, this dispatch), else the buffer's."""
        j = writer.get(buf.key)
        if j is not None and j < i and steps[j][3] == trig:
            return "v" if j == 0 else "r%d" % j
        return k(buf) + ".value"

    def write(i, d, value):
        fn, n, trig, bit, first, args, out, put, wake, node = steps[i]
        o = k(out)
        if put is None:  # a Latest: stored into here
            add(d + "%s.value = %s" % (o, value))
            add(d + "%s.produced = (%s.produced + 1) & W" % (o, o))
        elif out.kind == "ring":  # a Ring always takes it: Ring.put, inlined
            add(d + "h = %s._head" % o)
            add(d + "%s[h] = %s" % (k(out._slots), value))
            add(d + "%s.value = %s" % (o, value))
            add(d + "h += 1")
            add(d + "if h == %d:" % out.capacity)
            add(d + " h = 0")
            add(d + " %s._wrapped = True" % o)
            add(d + "%s._head = h" % o)
            add(d + "%s.produced = (%s.produced + 1) & W" % (o, o))
        elif i == 0:  # a full DROP queue refused it (counted there): nothing downstream runs
            add(d + "if not %s(v):" % k(put))
            add(d + " return")
        else:  # a Queue or Mailbox may refuse (DROP): then nothing downstream of it runs
            add(d + "if %s(%s):" % (k(put), value))
            d += " "
            add(d + "pass")
        if lineage is not None:
            n_src = len(lineage.sources)
            if i == 0 and node.kind == "source":
                add(d + "%s(%s, %d, %d)" % (k(lin.wrote), o, lineage.sources.index(node.out), n_src))
            else:  # a transform's result, or its own write (write(), from its timers)
                reset = 1 if getattr(node.fn, "accumulates", False) else 0
                add(d + "%s(%s, %s, %d, %d)" % (k(lin.give), k(lineage.acc[node]), o, n_src, reset))
        if bit & used:
            add(d + "w |= %d" % bit)
        for s in wake:
            s = k(s)
            add(d + "if not %s.pending:" % s)
            add(d + " %s.set()" % s)
        if i + 1 < len(steps) and inner[i + 1]:
            run(i + 1, d)

    def run(i, d):
        fn, n, trig, bit, first, args, out, put, wake, node = steps[i]
        if not inner[i] and not trig & 1:
            add(d + "if w & %d:" % trig)
            d += " "
        call = ", ".join(value_of(b, trig, i) for b in args)
        nd = k(node)
        if lineage is not None:
            widen = 1 if getattr(fn, "accumulates", False) else 0
            for b in args:
                add(d + "%s(%s, %s, %d, %d)" % (k(lin.take), k(lineage.acc[node]), k(b), len(lineage.sources), widen))
                widen = 1
        add(d + "try:")
        add(d + " r%d = %s(%s)" % (i, k(fn), call))
        add(d + " if r%d is None:" % i)
        add(d + "  %s.filtered = (%s.filtered + 1) & W" % (nd, nd))
        add(d + " else:")
        write(i, d + "  ", "r%d" % i)
        add(d + "except Exception as e:")
        add(d + " %s(%s, %s.value, e)" % (k(fail), nd, k(first)))

    if used:
        add(" w = 0")
    write(0, " ", "v")
    for i in range(1, len(steps)):
        if not inner[i]:
            run(i, " ")
    return size[0]


def write_plan(steps, fail, lineage=None):
    """One writer's steps as (the text of a function ``dispatch(value)``, its
    constants): rill.native compiles it."""
    consts = []
    size = _source(steps, fail, consts, lineage)  # a dry run: the constants and the text's length
    head = "@micropython.native\ndef dispatch(v, W=%d, %s):\n" % (
        _WRAP, ", ".join("k%d=K[%d]" % (j, j) for j in range(len(consts))))
    try:
        out = io.StringIO(len(head) + size)  # MicroPython: the text's one buffer, allocated once
    except TypeError:  # CPython's StringIO takes no size
        out = io.StringIO()
    out.write(head)
    _source(steps, fail, [], lineage, out)
    return out.getvalue(), tuple(consts)


def wire(graph, lineage):
    """The text of each writer's plan (rill.check's (node, trigger mask) pairs) of
    ``graph``, as [(node, text, constants)]: every source's, and every transform's with
    timers (``bind``: it writes through ``graph.write``). With ``lineage``,
    ``graph.lineage`` first. Unloads this module: rill.native compiles the texts with
    the room this module took."""
    plans = []
    try:
        if lineage:
            from .lineage import Lineage

            graph.lineage = Lineage(graph)
        records = graph.records
        for n in graph.nodes:
            if n.kind == "source" or n.kind == "transform" and hasattr(n.fn, "bind"):
                steps = []
                for i, (t, trig) in enumerate(n.plan):
                    out = records[t.out]
                    args = (out,)
                    if i:
                        args = tuple(records[k] for k in t.inputs + t.watch)
                    wake = tuple(tap.signal for tap in graph.taps if tap.inputs[0] == t.out)
                    put = None if out.kind == "latest" else out.put  # dispatch stores into a Latest itself
                    steps.append((t.fn if i else None, len(args), trig, 1 << i, args[0], args, out, put, wake, t))
                plans.append((n,) + write_plan(steps, graph.fail, graph.lineage))
        return plans
    finally:
        pkg = sys.modules["rill"]
        sys.modules.pop("rill.codegen", None)
        pkg.__dict__.pop("codegen", None)
