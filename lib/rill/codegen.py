"""The fast path's text: a graph's dispatch written as a module, one straight-line
function per writer. Runs on the host (``rill build --app``, ``rill deploy``:
tools/rill_host/build/dispatchgen.py) and in tests, never on the device by default: mpy-cross compiles
the module for the board (``-march``), so its native code arrives in the ``.mpy``.

A writer's step table (rill.dispatch) is known once the graph is wired: how many
inputs each transform takes, which buffer, which taps to wake, which steps trigger
which. The module turns that into code. For ``raw -> milli -> out`` with a tap on
``out``, pipeline "bench", ``rill_dispatch_bench.py`` reads, in effect:

    def bind_push_raw(t, fail, L):    # t: the device's step table; its objects become defaults
        @micropython.native
        def push_raw(v, k0=t[0][5], k1=t[1][8], k2=t[1][0], ...):
            k0.value = v; k0.produced = ...          # exactly a Latest: stored into
            # transform 'to_milli' -> milli
            try:
                r1 = k2(v)                           # the input just written: a local
                if r1 is None: k1.filtered = ...
                else:
                    ...
                    h = k6._head; k7[h] = r2 ...     # exactly a Ring, inlined (else its put())
                    if k8 is not None and not k8.pending: k8.set()   # the taps on out (rill.dispatch)
            except Exception as e:
                fail(k1, k0.value, e)
        return push_raw

    FINGERPRINT = {"push_raw": 0x3a1f07}   # rill.wiring.fingerprint of each step table

It does what rill.dispatch does (the reference; host_tests/lib/test_codegen.py
compares them on random graphs) and allocates nothing per call. A traceback names
the writer (``push_<record>``, ``write_<transform>``) in ``rill_dispatch_<pipeline>.py``,
and each step's lines follow a comment naming its transform. Heap on the device: the
functions (native code) and their defaults; ``bind`` is garbage once it has run.
"""
from .buffers import Latest, Ring
from .queues import Mailbox, Queue

_WRAP = "0x3FFFFFFF"  # the counters' wrap (rill.dispatch), a literal: an immediate in native code, not an argument
_NEST = 8  # CPython compiles at most 20 nested blocks, each step's try here


def _body(table, k, add, lineage):
    """Write one writer's body from its step ``table``: ``k(obj, expr, share)``
    names an object (a default argument) bound from ``expr``; ``add(line)``."""
    writer = {}  # record key -> the step that writes it
    for i, step in enumerate(table):
        writer[step[5].key] = i
    # A step whose only trigger is the step just before it, and which reads nothing else
    # written in this dispatch, runs inside that step's write: no mask test. The order of
    # the steps is unchanged. Any other step tests the mask of the steps that wrote.
    inner = [False] * len(table)
    depth = [0] * len(table)
    used = 0
    for i in range(1, len(table)):
        trig, n, args = table[i][2], table[i][1], table[i][4]
        if trig & 1:
            continue  # triggered by the dispatch's own write, which has happened
        others = [b for b in args[:n] if writer.get(b.key, i - 1) != i - 1]
        if trig == table[i - 1][3] and not others and depth[i - 1] < _NEST:
            inner[i] = True
            depth[i] = depth[i - 1] + 1
        else:
            used |= trig

    def at(i, j):
        return "t[%d][%d]" % (i, j)

    def value_of(i, j):
        """Input j's value: the local just written, when its step is this one's only
        trigger (so it certainly wrote, this dispatch) and the buffer is one of rill's
        own (a subclass's put() may store something else), else the buffer's."""
        buf = table[i][4][j]
        w = writer.get(buf.key)
        if w is not None and w < i and table[w][3] == table[i][2] and type(buf) in _OWN:
            return "v" if w == 0 else "r%d" % w
        return k(buf, "%s[%d]" % (at(i, 4), j)) + ".value"

    def write(i, d, value):
        fn, n, trig, bit, args, out, put, wake, node, lin = table[i]
        o = k(out, at(i, 5))
        if put is None:  # exactly a Latest: stored into here
            add(d + "%s.value = %s" % (o, value))
            add(d + "%s.produced = (%s.produced + 1) & %s" % (o, o, _WRAP))
        elif type(out) is Ring:
            add(d + "h = %s._head" % o)  # exactly a Ring, which always takes it: Ring.put, inlined
            add(d + "%s[h] = %s" % (k(out._slots, at(i, 5) + "._slots"), value))
            add(d + "%s.value = %s" % (o, value))
            add(d + "h += 1")
            add(d + "if h == %d:" % out.capacity)
            add(d + " h = 0")
            add(d + " %s._wrapped = True" % o)
            add(d + "%s._head = h" % o)
            add(d + "%s.produced = (%s.produced + 1) & %s" % (o, o, _WRAP))
        elif i == 0:  # a full DROP queue refused it (counted there): nothing downstream runs
            add(d + "if not %s(v):" % k(put, at(i, 6)))
            add(d + " return")
        else:  # a Queue, Mailbox or any other buffer's put(): a refusal stops what is downstream
            add(d + "if %s(%s):" % (k(put, at(i, 6)), value))
            d += " "
            add(d + "pass")
        if lin is not None:
            if type(lin) is int:  # a source's write
                add(d + "%s(%s, %d, N)" % (k(lineage[0], "L[0]"), o, lin))
            else:  # a transform's result, or its own write (write(), from its timers)
                add(d + "%s(%s, %s, N)" % (k(lineage[2], "L[2]"), k(lin, at(i, 9)), o))
        if bit & used:
            add(d + "w |= %d" % bit)
        kw = k(wake, at(i, 7), False)  # the taps on out, however many the device has: None, a Signal, a Fanout
        add(d + "if %s is not None and not %s.pending:" % (kw, kw))
        add(d + " %s.set()" % kw)
        if i + 1 < len(table) and inner[i + 1]:
            run(i + 1, d)

    def run(i, d):
        fn, n, trig, bit, args, out, put, wake, node, lin = table[i]
        add(d + "# %s %r -> %s" % (node.kind, node.name, out.key))
        if not inner[i] and not trig & 1:
            add(d + "if w & %d:" % trig)
            d += " "
        call = ", ".join(value_of(i, j) for j in range(n))
        nd = k(node, at(i, 8))
        if lin is not None:
            for j in range(n):  # the first input's origin, widened by the others'
                add(d + "%s(%s, %s, N, %d)" % (k(lineage[1], "L[1]"), k(lin, at(i, 9)),
                                                k(args[j], "%s[%d]" % (at(i, 4), j)), j))
        add(d + "try:")
        add(d + " r%d = %s(%s)" % (i, k(fn, at(i, 0), False), call))
        add(d + " if r%d is None:" % i)
        add(d + "  %s.filtered = (%s.filtered + 1) & %s" % (nd, nd, _WRAP))
        add(d + " else:")
        write(i, d + "  ", "r%d" % i)
        add(d + "except Exception as e:")
        add(d + " %s(%s, %s.value, e)" % (k(_FAIL, "fail"), nd, k(args[0], at(i, 4) + "[0]")))

    if used:
        add(" w = 0")
    write(0, " ", "v")
    for i in range(1, len(table)):
        if not inner[i]:
            run(i, " ")


_OWN = (Latest, Ring, Queue, Mailbox)  # rill's own buffers store what they are given
_FAIL = object()  # stands for graph.fail, which bind() receives


def _writer(put, table, node, name, lineage, native):
    """Write one writer's ``bind_<name>(t, fail, L)`` and its FINGERPRINT entry."""
    from .wiring import fingerprint

    consts, exprs, body = [], [], []

    def k(obj, expr, share=True):
        """A buffer, node or helper is one object on the device too; a callable or a
        step's wake (None on the host, a Signal on the device) may not be: not shared."""
        for j, c in enumerate(consts):
            if share and c is obj and exprs[j][-1:] != "!":
                return "k%d" % j
        consts.append(obj)
        exprs.append(expr if share else expr + "!")
        return "k%d" % (len(consts) - 1)

    def add(line):
        body.append("    " + line)

    _body(table, k, add, lineage)
    put("")
    put("")
    put("def bind_%s(t, fail, L):" % name)
    put('    """%s %r -> %s: its dispatch, its objects from its step table ``t``."""'
        % (node.kind, node.name, node.out))
    put("")
    if native:
        put("    @micropython.native")
    defaults = (["N=L[3]"] if lineage else []) + [
        "k%d=%s" % (j, e.rstrip("!")) for j, e in enumerate(exprs)]
    put("    def %s(v, %s):" % (name, ", ".join(defaults)))
    for line in body:
        put(line)
    put("")
    put("    return %s" % name)
    return "    %r: 0x%06x," % (name, fingerprint(node.graph, table))


def module(graph, out, native=True):
    """Write ``rill_dispatch_<pipeline>.py`` for the built ``graph`` (any dispatch) to
    the stream ``out``: per writer (rill.wiring.writers), ``bind_<writer>(table, fail,
    lineage)`` returning its function, and FINGERPRINT {writer: the fingerprint of the
    step table it was made for}. ``native``: each function ``@micropython.native``
    (False: bytecode, for a port without the native emitter). Written line by line: no
    text of the whole module is ever held."""
    from .wiring import steps, writer_name, writers

    lineage = None
    if graph.lineage is not None:
        from . import lineage as lin

        lineage = (lin.wrote, lin.take, lin.give)

    def put(line):
        out.write(line)
        out.write("\n")

    put('"""The dispatch of pipeline %r, generated on the host by rill.codegen (rill build --app,' % graph.name)
    put("rill deploy); do not edit. rill.wiring binds each writer's function when its")
    put("fingerprint is that of the writer's step table on the device.\"\"\"")
    put("import micropython  # noqa: F401")
    entries = [_writer(put, steps(graph, n), n, writer_name(n), lineage, native) for n in writers(graph)]
    put("")
    put("FINGERPRINT = {")
    for e in entries:
        put(e)
    put("}")
