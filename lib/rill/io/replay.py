"""``replay``: run a graph in virtual time, fed by a capture in place of its sources.

    g = pipeline(board, cfg).build()                  # the same app, a fresh graph
    await replay(g, checked("capture.jsonl"))         # returns when the capture's end is reached

The graph's sources do not run: each captured ``[t, key, value]`` is pushed at its
time ``t`` by one task that sleeps on the clock as the sources did, so timers in
transforms see the same times and order; taps run between the writes. A record that
says taps were still waiting on the device (``[t, key, value, waiting]``,
rill.io.recorder) is not reproduced: ``diverged`` counts writes where the replay's
waiting taps (not ``transcript``'s own) differ in number from the device's (issue 18:
two sources writing in one millisecond can publish in another order in a replay).
Where ``diverged`` is 0, tap outputs are the original run's, byte for byte
(host_tests/lib/test_io_replay.py, on every runtime). ``records`` read by rill.io.checked raise
``Damaged`` at a damaged line: the replay stops there and ``run()`` raises it.

With ``identity`` (the replayed code's build identity, as rill.identity or
tools/rill_host/build/identity.py give it), a capture made by another build (its header's
``build``, see rill.identity.differs) prints one warning line on stderr, kept in
``Replay.warning``; the replay goes on.

With ``bridges`` (the rill.mqtt Bridges attached to the replayed pipeline), what their
links publish is kept instead of sent: each bridge's outbox is replaced by a
``Published`` that keeps ``(t, topic, payload)`` in ``Replay.published``, and its
envelope numbering resumes where the capture's header says the original run's did
(``"mqtt": {name: [boot, seq]}``, rill.io.recorder), so every payload is the original
run's, byte for byte, envelope included (a header without them: boot 0, seq 0). The
bridges never connect (their connection task is a source, and sources do not run); a
graph built with lineage gives them its lineage, so they publish the same origins
(``"o"``). A capture whose header says ``"lineage": true`` replayed through a graph
without lineage warns, as a build mismatch does (``transcript`` builds with it).

Records of keys the graph does not have are counted in ``Replay.unknown`` and set aside
in the dead letters (reason ``replay: no source ...``).

Heap: the capture is read one record at a time; a VirtualClock allocates per sleep
(host only).
"""
from ..buffers import BLOCK


class Published:
    """A bridge's outbox in a replay: keeps what is put, sends nothing."""

    def __init__(self, replay):
        self.replay = replay

    def put(self, topic, payload, qos=1, retain=False):
        r = self.replay
        clock = r.graph.clock
        item = (clock.diff(clock.now(), r.t0), bytes(topic), bytes(payload))
        r.published.append(item)
        if r.on_publish is not None:
            r.on_publish(item)
        return True


class Replay:
    def __init__(self, graph, records, identity=None, bridges=()):
        self.graph = graph
        self.identity = identity
        self.bridges = bridges
        self.published = []  # (t, topic, payload) of each publish, in order
        self.on_publish = None
        self.t0 = 0
        self.build = self.warning = None
        self.records = iter(records)
        self.name = None
        self.sources = {}
        self.next_t = 0
        self.end = None
        self.pushed = self.unknown = self.diverged = 0
        self.lineage = False
        self.error = None

    async def feed(self):
        """The task standing in for the sources. A raise while reading the capture (a
        damaged record, rill.io.frame.Damaged) ends the replay there: ``run()`` raises it."""
        try:
            await self._feed()
        except Exception as e:
            self.error = e
        if self.end is None:
            self.end = self.next_t

    async def _feed(self):
        g = self.graph
        clock = g.clock
        taps = [t for t in g.taps if t.name != "replay"]  # the app's (not transcript's own)
        start = clock.now()
        for rec in self.records:
            if isinstance(rec, dict):
                if "end" in rec:
                    self.end = max(rec["end"], self.next_t)
                    break
                self.name = rec.get("capture")
                self.sources = rec.get("sources") or {}
                self.build = rec.get("build")
                self._numbers(rec.get("mqtt") or {})
                self.lineage = bool(rec.get("lineage"))
                if self.lineage and g.lineage is None:
                    self._warn("replay: warning: capture %s was made with lineage=True: the replayed graph has "
                               "none, so its publishes carry no origin (build it with lineage=True)" % self.name)
                if self.identity is not None:
                    self._check()
                continue
            t, key, value = rec[0], rec[1], rec[2]
            waiting = rec[3] if len(rec) > 3 else 0
            if t < self.next_t:
                t = self.next_t  # time never runs backwards
            self.next_t = t
            # taps run between writes: a record the device wrote while taps waited (``waiting``)
            # is counted in ``diverged`` where the replay's differ, not reproduced (issue 18)
            await clock.sleep_until(clock.add(start, t))
            n = 0
            for tap in taps:
                if tap.signal.pending:
                    n += 1
            if n != waiting:
                self.diverged += 1
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

    def _numbers(self, numbers):
        """Each bridge's envelope numbers from where the original run's started."""
        from ..mqtt.seq import Sequence

        for b in self.bridges:
            boot, n = numbers.get(b.name) or (0, 0)
            b.seq = Sequence(start=n)
            b.seq.boot = boot

    def _check(self):
        from .. import identity

        differ = identity.differs(self.build, self.identity)
        if differ:
            got = identity.short(self.build or {})
            now = identity.short(self.identity)
            text = "replay: warning: capture %s was made by another build (%s) than the code replayed (%s)" % (
                self.name, " ".join("%s=%s" % (k, got[k]) for k in differ),
                " ".join("%s=%s" % (k, now[k]) for k in differ))
            self._warn(text)

    def _warn(self, text):
        import sys

        self.warning = text
        print(text, file=sys.stderr)

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
        for b in self.bridges:
            b.outbox = Published(self)
            b.lineage = g.lineage  # what the bridge's task, which does not run, sets at its start
        g.start(clock)
        start = self.t0 = clock.now()
        task = asyncio.create_task(self.feed())
        while self.end is None:
            await clock.advance(clock.diff(clock.add(start, self.next_t), clock.now()))
        await clock.advance(clock.diff(clock.add(start, self.end), clock.now()))
        task.cancel()
        g.stop()
        if self.error is not None:
            raise self.error
        return self


def replay(graph, records, clock=None, identity=None, bridges=()):
    """``await replay(graph, records)``: see the module. ``records``: an iterable of
    capture records, such as ``rill.io.frame.read(path)``."""
    return Replay(graph, records, identity, bridges).run(clock)


def transcript(pipeline, records, clock=None, identity=None, bridges=()):
    """Build ``pipeline`` with a tap on every record a transform writes (Queues excepted:
    they have one reader), replay ``records`` through it, and return what those records
    received as JSON lines ``[t, key, value]``, in order: a replay's output, to compare
    or to keep as a test's expected output. With ``bridges`` (attached to ``pipeline``),
    each publish is a line too, where it happened: ``[t, "publish", topic, payload]``
    (the payload's text; a payload that is not UTF-8 as ``{"hex": ...}``). Runs the loop
    itself (``asyncio.run``)."""
    import asyncio

    from ..jsontext import dumps

    if clock is None:
        from ..clock import VirtualClock

        clock = VirtualClock()
    lines = []

    def tap(key):
        return lambda v: lines.append(dumps([clock.now(), key, v]))

    def published(item):
        t, topic, payload = item
        try:
            text = str(payload, "utf-8")
        except UnicodeError:
            from binascii import hexlify

            text = {"hex": str(hexlify(payload), "ascii")}
        lines.append(dumps([t, "publish", str(topic, "utf-8"), text]))

    for node in [n for n in pipeline.nodes if n.kind == "transform"]:
        if pipeline.records[node.out].kind != "queue":
            pipeline.tap(node.out, tap(node.out), name="replay")
    records = iter(records)
    try:
        head = next(records)
    except StopIteration:
        head = None
    else:
        records = _after(head, records)
    lineage = isinstance(head, dict) and bool(head.get("lineage"))  # the device's, so the same origins
    r = Replay(pipeline.build(lineage=lineage), records, identity, bridges)
    r.on_publish = published
    asyncio.run(r.run(clock))
    return lines


def _after(first, rest):
    yield first
    for rec in rest:
        yield rec
