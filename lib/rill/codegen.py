"""Build-time: compile each writer's dispatch plan into one straight-line function.

A plan (rill.check.plan) is a write and the transforms downstream, in depth order, each
with the mask of the earlier steps whose write triggers it. Everything a generic loop
would test on every record (how many inputs, which buffer, which taps to wake) is known
once the graph is wired, so it becomes code instead: for ``raw -> milli -> out`` with a
tap on ``out`` the function is, in effect,

    def dispatch(v):
        src.runs = (src.runs + 1) & W          # the write
        raw.value = v; raw.produced = ...       # a Latest is stored into directly
        try:
            r1 = to_milli(v)                    # the input just written: a local
            if r1 is None: ...filtered += 1
            else:
                milli.value = r1; ...
                try:
                    r2 = keep_positive(r1)
                    ...
                    out_put(r2)                 # other buffers through their put()
                    if not tap_signal.pending: tap_signal.set()

Each step runs only if a step in its trigger mask wrote (a diamond joins once); a raise
in a transform or its write is that transform's failure (``graph.fail``) and stops only
what depends on it. The function is compiled as ``@micropython.native`` where the port
can (bytecode otherwise), takes any number of inputs without ``*args``, and allocates
nothing per call. Graph loads this module while it wires a graph and unloads it after,
so only the compiled functions stay in the heap (``make bench``: dispatch_code_bytes).
"""
import sys

import micropython  # noqa: F401  (the compiled code's decorator, from its globals)

_WRAP = 0x3FFFFFFF


def _source(steps, consts):
    """The function's text, from Graph's step tuples (see Graph). ``consts`` receives
    the objects it names k0, k1, ...: one default argument, unpacked into locals."""

    def k(obj):
        for j, c in enumerate(consts):
            if c is obj:
                return "k%d" % j
        consts.append(obj)
        return "k%d" % (len(consts) - 1)

    used = 0  # bits that a later trigger mask names; step 0 always wrote, so not bit 0
    for step in steps[1:]:
        used |= step[2] & ~1
    body = []
    add = body.append
    if used:
        add(" w = 0")
    local = {}  # record key -> (the local holding what this dispatch wrote to it, its step's bit)
    for i, (fn, n, trig, bit, first, args, out, put, wake, node) in enumerate(steps):
        d = " "
        if i == 0:
            nd = k(node)
            add(" %s.runs = (%s.runs + 1) & %d" % (nd, nd, _WRAP))
            value = "v"
        else:
            if not trig & 1:
                add(" if w & %d:" % trig)
                d = "  "
            call = []
            for buf in args:
                got = local.get(buf.key)
                call.append(got[0] if got is not None and got[1] == trig else k(buf) + ".value")
            value = "r%d" % i
            nd = k(node)
            handler = (d, nd, k(first))
            add(d + "try:")
            add(d + " %s = %s(%s)" % (value, k(fn), ", ".join(call)))
            add(d + " if %s is None:" % value)
            add(d + "  %s.filtered = (%s.filtered + 1) & %d" % (nd, nd, _WRAP))
            add(d + " else:")
            d += "  "
        o = k(out)
        if put is None:  # a Latest: stored into here
            add(d + "%s.value = %s" % (o, value))
            add(d + "%s.produced = (%s.produced + 1) & %d" % (o, o, _WRAP))
        elif out.kind == "ring":  # always takes the value
            add(d + "%s(%s)" % (k(put), value))
        elif i == 0:  # a full DROP queue refused it (counted there): nothing downstream runs
            add(" if not %s(v):" % k(put))
            add("  return")
        else:  # a Queue or Mailbox may refuse (DROP): then nothing downstream of it runs
            add(d + "if %s(%s):" % (k(put), value))
            d += " "
            if not bit & used and not wake:
                body[-1] = body[-1].replace("if ", "", 1)[:-1]
        if bit & used:
            add(d + "w |= %d" % bit)
        for s in wake:
            s = k(s)
            add(d + "if not %s.pending:" % s)
            add(d + " %s.set()" % s)
        local[out.key] = (value, bit)
        if i:
            d, nd, first = handler
            add(d + "except Exception as e:")
            add(d + " F(%s, %s.value, e)" % (nd, first))
    head = ["def dispatch(v, K=K):", " " + ", ".join("k%d" % j for j in range(len(consts))) + ", = K"]
    return "\n".join(head + body)


def compile_plan(steps, fail):
    """One writer's steps as a function ``dispatch(value)``: native code where the port
    compiles it (the unix port, ESP32, RP2040), bytecode where it cannot."""
    consts = []
    text = _source(steps, consts)
    scope = {"K": tuple(consts), "F": fail, "micropython": micropython}
    try:
        exec("@micropython.native\n" + text, scope)
    except Exception:  # no native emitter, or no memory for native code: bytecode
        exec(text, scope)
    return scope["dispatch"]


def unload():
    pkg = sys.modules["rill"]
    sys.modules.pop("rill.codegen", None)
    pkg.__dict__.pop("codegen", None)
