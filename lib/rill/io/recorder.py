"""``Recorder``: every source's records during a run, into a sink, for replay.

    rec = Recorder(FileSink("capture.jsonl", max_bytes=1 << 20))   # a board: a few small segments
    rec.attach(g)            # after build(), before start() or run()
    ...
    rec.close()              # writes the end time and flushes

A capture is framed lines (rill.io.frame): first ``{"capture": graph name, "sources":
{record key: source name}, "build": identity}`` (rill.identity's short form of the
board's build.json, when it has one and the line fits the sink's ``max_line``: a
replay warns when it is not the code replayed) and, for each MQTT bridge given to
``attach``, ``"mqtt": {bridge name: [boot, next seq]}``: the envelope numbers its next
publish takes, so that a replay publishes the same bytes (rill.io.replay), and
``"lineage": true`` from a graph built with ``lineage=True`` (a replay builds so and
publishes the same origins); then ``[t, key, value]`` per record, where ``t`` is ms on
the graph's clock since ``start()``, then ``{"end": t}`` from ``close()``. Records
pushed from outside (``g.push``) and a source's ``missing`` value are captured too.

Order within a millisecond: taps (a bridge's links among them) run in tasks of their
own, so what they publish, and its sequence numbers, depend on whether they ran
between two writes. A record written while taps woken by earlier writes had not run
yet says how many: ``[t, key, value, waiting]`` (a 4th item only then). A replay
writes it without letting them run first: the device's order, exactly.

A record the sink refuses (too long a line, a value JSON cannot hold, a full MQTT
outbox) still goes on into the graph; ``failed`` counts it, and the dead letters hold
it (name "recorder"); so does the end record.

``attach`` writes the header and has the graph show it each source's value first
(``intercept``, which wraps the sources' dispatch: a graph without a recorder pays
nothing, not even this code); ``close`` ends that.

Heap: a wrapper per source, once. Per record: a 3-slot list (4 when taps wait; counting
them walks the graph's taps, allocating nothing) and the sink's cost (FileSink: the
JSON line and its framing, held until the batch is written). ``make bench`` reports
the time per record against the same pipeline without recording
(``recorder_ratio_vs_plain``) and the bytes allocated per record
(``recorder_alloc_bytes_per_record``).
"""


def intercept(graph, fn):
    """Have ``fn(key, value)`` see every value ``graph``'s sources write, just before it
    is written: a push from outside, a task's ``emit``, a periodic read, a failed
    read's ``missing``. ``intercept(graph, None)`` ends it. Each source's dispatch is
    wrapped, not tested, so a graph that is not intercepted pays nothing."""
    for src in graph.sources:
        graph._writers[src.out] = src.dispatch if fn is None else _seen(fn, src.out, src.dispatch)


def _seen(fn, key, dispatch):
    def seen(value):
        fn(key, value)
        dispatch(value)

    return seen


class Recorder:
    def __init__(self, sink):
        self.sink = sink
        self.graph = None
        self.records = self.failed = 0

    def attach(self, graph, bridges=()):
        """Record what ``graph``'s sources write (``intercept``), from now on, with
        times from its ``start()``; ``bridges``: the rill.mqtt Bridges attached to its
        pipeline, whose envelope numbers the header keeps. Writes the header now."""
        if self.graph is not None:
            raise ValueError("this Recorder already records graph %s" % self.graph.name)
        self.graph = graph
        sources = {}
        for src in graph.sources:
            sources[src.out] = src.name
        head = {"capture": graph.name, "sources": sources}
        if graph.lineage is not None:
            head["lineage"] = True
        if bridges:
            head["mqtt"] = numbers = {}
            for b in bridges:
                numbers[b.name] = [b.seq.boot, b.seq.n]
        from .. import identity

        build = identity.load()
        if identity.known(build):
            head["build"] = identity.short(build)
            try:
                self.sink.write(head)
                head = None
            except ValueError:  # longer than the sink's max_line: the header without it
                del head["build"]
        if head is not None:
            self.sink.write(head)
        intercept(graph, self.record)
        return self

    def _t(self):
        """ms since the graph's start() (0 before it)."""
        g = self.graph
        return 0 if g.clock is None else g.clock.diff(g.clock.now(), g.started)

    def record(self, key, value):
        self.records += 1
        waiting = 0  # taps woken by earlier writes that have not run yet
        for tap in self.graph.taps:
            if tap.signal.pending:
                waiting += 1
        self._write([self._t(), key, value, waiting] if waiting else [self._t(), key, value], value)

    def _write(self, line, value):
        try:
            self.sink.write(line)
        except Exception as e:  # the sink refused it: counted, set aside; the record itself goes on
            self.failed += 1
            self.graph.dead_letters.add("recorder", value, e)

    def close(self):
        """Write the end time (replay runs exactly this long) and flush the sink; what
        the graph's sources write after it is not recorded."""
        intercept(self.graph, None)
        end = {"end": self._t()}
        self._write(end, end)
        self.sink.close()
