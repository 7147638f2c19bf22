"""``replay``: run a graph in virtual time, fed by a capture in place of its sources.

    g = pipeline(board, cfg).build()                  # the same app, a fresh graph
    await replay(g, frame.read("capture.jsonl"))      # returns when the capture's end is reached

The graph's sources do not run: each captured ``[t, key, value]`` is pushed at its
time ``t`` by one task that sleeps on the clock as the sources did, so timers in
transforms see the same times and order. Tap outputs are then the original run's,
byte for byte (host_tests/lib/test_io_replay.py shows it on both runtimes).

With ``identity`` (the replayed code's build identity, as rill.identity or
tools/build_identity.py give it), a capture made by another build (its header's
``build``, see rill.identity.differs) prints one warning line on stderr, kept in
``Replay.warning``; the replay goes on.

Records of keys the graph does not have are counted in ``Replay.unknown`` and set aside
in the dead letters (reason ``replay: no source ...``).

Heap: the capture is read one record at a time; a VirtualClock allocates per sleep
(host only).
"""
from ..buffers import BLOCK


class Replay:
    def __init__(self, graph, records, identity=None):
        self.graph = graph
        self.identity = identity
        self.build = self.warning = None
        self.records = iter(records)
        self.name = None
        self.sources = {}
        self.next_t = 0
        self.end = None
        self.pushed = self.unknown = 0

    async def feed(self):
        """The task standing in for the sources."""
        g = self.graph
        clock = g.clock
        start = clock.now()
        for rec in self.records:
            if isinstance(rec, dict):
                if "end" in rec:
                    self.end = max(rec["end"], self.next_t)
                    break
                self.name = rec.get("capture")
                self.sources = rec.get("sources") or {}
                self.build = rec.get("build")
                if self.identity is not None:
                    self._check()
                continue
            t, key, value = rec
            if t < self.next_t:
                t = self.next_t  # time never runs backwards
            self.next_t = t
            await clock.sleep_until(clock.add(start, t))
            buf = g.records.get(key)
            if buf is None:
                self.unknown += 1
                g.dead_letters.add("replay", value, "replay: no source writes %r" % key)
                continue
            if buf.policy == BLOCK and buf.full():
                await buf.room()  # as the source did: backpressure
            try:
                g.push(key, value)
                self.pushed += 1
            except Exception as e:  # e.g. QueueFull from an ERROR queue, as in the original run
                g.dead_letters.add("replay", value, e)
        if self.end is None:
            self.end = self.next_t

    def _check(self):
        from .. import identity

        differ = identity.differs(self.build, self.identity)
        if differ:
            import sys

            got = identity.short(self.build or {})
            now = identity.short(self.identity)
            self.warning = "replay: warning: capture %s was made by another build (%s) than the code replayed (%s)" % (
                self.name, " ".join("%s=%s" % (k, got[k]) for k in differ),
                " ".join("%s=%s" % (k, now[k]) for k in differ))
            print(self.warning, file=sys.stderr)

    async def run(self, clock=None):
        """Start the graph on ``clock`` (a new VirtualClock by default) with its sources
        off, feed the capture, advance to its end, stop the graph. Returns the Replay."""
        import asyncio

        if clock is None:
            from ..clock import VirtualClock

            clock = VirtualClock()
        g = self.graph
        for src in g.sources:
            src.fn = None  # graph.start() runs only sources with a callable
        g.start(clock)
        start = clock.now()
        task = asyncio.create_task(self.feed())
        while self.end is None:
            await clock.advance(clock.diff(clock.add(start, self.next_t), clock.now()))
        await clock.advance(clock.diff(clock.add(start, self.end), clock.now()))
        task.cancel()
        g.stop()
        return self


def replay(graph, records, clock=None, identity=None):
    """``await replay(graph, records)``: see the module. ``records``: an iterable of
    capture records, such as ``rill.io.frame.read(path)``."""
    return Replay(graph, records, identity).run(clock)


def transcript(pipeline, records, clock=None, identity=None):
    """Build ``pipeline`` with a tap on every record a transform writes (Queues excepted:
    they have one reader), replay ``records`` through it, and return what those records
    received as JSON lines ``[t, key, value]``, in order: a replay's output, to compare
    or to keep as a test's expected output. Runs the loop itself (``asyncio.run``)."""
    import asyncio
    import json

    if clock is None:
        from ..clock import VirtualClock

        clock = VirtualClock()
    lines = []

    def tap(key):
        return lambda v: lines.append(json.dumps([clock.now(), key, v]))

    for node in [n for n in pipeline._nodes if n.kind == "transform"]:
        if pipeline._records[node.out].kind != "queue":
            pipeline.tap(node.out, tap(node.out), name="replay")
    asyncio.run(replay(pipeline.build(), records, clock, identity))
    return lines
