"""The compiled dispatch (rill.codegen) against a plain reference written here, on random
graphs: joins, diamonds, watched records, transforms that filter and that raise, Latest
and Ring records, and plans longer than the compiler nests."""
import gc

from rill import Pipeline, Ring

MP_HEAPSIZE = "256K"  # compiling a plan of 28 transforms takes about 170 KB on the 64-bit port (README)
MP_HEAPSIZE32 = "200K"
MP_HEAPSIZE32_WHY = ("test_a_long_chain_deeper_than_the_compiler_nests compiles a 28-transform plan with exec: "
                     "196K measured on 32 bits, over RPI_PICO_W's 160K (the compiler is what issue 17 removes)")


class Lcg:
    """The same pseudo-random numbers on both runtimes."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def make_fn(kind, salt):
    if kind == 0:
        return lambda *v: sum(v) + salt
    if kind == 1:  # filters: None when the sum is odd
        return lambda *v: None if sum(v) & 1 else sum(v) // 2 + salt
    return lambda *v: 100 // (sum(v) % 5) + salt  # raises when the sum is a multiple of 5


def random_graph(rnd, n_sources, n_transforms):
    """(pipeline, [(key, fn, inputs, watch)] in declaration order)."""
    p = Pipeline()
    keys = []
    for i in range(n_sources):
        k = "s%d" % i
        p.record(k, int)
        p.source(k)
        keys.append(k)
    spec = []
    for i in range(n_transforms):
        k = "t%d" % i
        p.record(k, int, Ring(1 + rnd.below(4)) if rnd.below(3) == 0 else None)
        inputs = []
        for _ in range(1 + rnd.below(3)):
            c = keys[len(keys) - 1 - rnd.below(min(len(keys), 4))]  # mostly recent records: deep plans
            if c not in inputs:
                inputs.append(c)
        watch = []
        if rnd.below(4) == 0:
            w = keys[rnd.below(len(keys))]
            if w not in inputs:
                watch.append(w)
        fn = make_fn(rnd.below(3), i)
        p.transform(k, fn, *inputs, watch=watch)
        spec.append((k, fn, inputs, watch))
        keys.append(k)
    return p, spec


def reference(spec, order, values, errors, filtered, key, v):
    """What one push does, by the rule: in depth order, a transform runs when one of its
    inputs was written in this dispatch; None and a raise write nothing."""
    values[key] = v
    written = [key]
    for k, fn, inputs, watch in order:
        if not [i for i in inputs if i in written]:
            continue
        args = [values.get(i) for i in inputs + watch]
        if None in args:
            errors[k] += 1  # an input without a value yet: the sum raises
            continue
        try:
            r = fn(*args)
        except Exception:
            errors[k] += 1
            continue
        if r is None:
            filtered[k] += 1
            continue
        values[k] = r
        written.append(k)


def check(seed, n_sources, n_transforms, pushes):
    rnd = Lcg(seed)
    p, spec = random_graph(rnd, n_sources, n_transforms)
    g = p.build()
    nodes = {}
    for n in g.nodes:
        nodes[n.out] = n
    depth_order = sorted(spec, key=lambda s: (nodes[s[0]].depth, [x[0] for x in spec].index(s[0])))
    values, errors, filtered = {}, {}, {}
    for k, _, _, _ in spec:
        errors[k] = filtered[k] = 0
    for _ in range(pushes):
        key = "s%d" % rnd.below(n_sources)
        v = rnd.below(50)
        g.push(key, v)
        reference(spec, depth_order, values, errors, filtered, key, v)
        for k, _, _, _ in spec:
            assert g.records[k].value == values.get(k), (seed, k, g.records[k].value, values.get(k))
    for k, _, _, _ in spec:
        assert (nodes[k].errors, nodes[k].filtered) == (errors[k], filtered[k]), (seed, k)


def test_random_graphs_dispatch_as_the_rule_says():
    for seed in range(1, 25):
        check(seed, 1 + seed % 3, 4 + seed % 9, 60)


def test_a_long_chain_deeper_than_the_compiler_nests():
    check(99, 1, 28, 40)
    p = Pipeline()
    p.record("k0", int)
    p.source("k0")
    for i in range(1, 30):
        p.record("k%d" % i, int, Ring(4) if i % 3 == 0 else None)
        p.transform("k%d" % i, lambda x: x + 1, "k%d" % (i - 1))
    g = p.build()
    g.push("k0", 3)
    assert g.records["k29"].value == 32


def test_building_again_and_again_keeps_no_heap():
    """The compiler's work is garbage once a graph is built: 20 builds keep what one does,
    but for the unix port's 32 B record of each native function's executable memory,
    which MicroPython never frees (README: Memory and speed)."""
    def build():
        p, _ = random_graph(Lcg(7), 2, 8)
        return p.build()

    build()
    gc.collect()
    before = gc.mem_free() if hasattr(gc, "mem_free") else 0
    for _ in range(20):
        build()
    gc.collect()
    after = gc.mem_free() if hasattr(gc, "mem_free") else 0
    assert before - after <= 20 * 2 * 32 + 128, before - after  # 20 builds of 2 plans
