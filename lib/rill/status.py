"""Status: a pipeline's health as one record, published retained at a set period and
readable locally.

    st = Status(p, every_ms=60000, bridge=mq)    # before mq.attach(p) and p.build()
    ...                                          # "status" is published, retained, to
    st.snapshot()                                # rill/<device>/status/metrics; or read it here

``Status`` declares record ``key`` (a dict) and a task source that wakes every
``probe_ms``: it measures how late the loop woke it (the loop's stall, into a
preallocated histogram), samples the free heap for its low-water mark, counts uptime,
and every ``every_ms`` (in whole probes) emits ``snapshot()`` into the record
(``every_ms=0``: never; the record then stays empty and ``snapshot()`` still works). With ``bridge`` the record is
published to ``topic`` with retain. With a bridge, ``outbox`` says what the device holds:
``depth`` (entries in the RAM outbox), ``pending`` (records not yet delivered, RAM and
flash), ``flash`` and ``flash_bytes`` (the spill log's records and bytes, rill.mqtt.spill),
``drops``, and ``oldest_ms``, the oldest pending record's age to within a probe (a
checkpoint of the records produced, moved on each probe once they have all left).

The snapshot reads counters the graph and the bridge keep anyway, so the dispatch
path pays nothing for it: per stage and per record as rill.describe reads them
(``stages``, ``buffers``; loaded with the first snapshot). Per stage, a transform's
``calls`` are its results written, filtered and failed; ``max_us`` needs timing on the
dispatch path, so it is opt-in (``timing=True``: transforms declared before the Status,
of 1 to 3 inputs and without timers, are wrapped to keep their slowest call). Dead
letters are counted by the error's class name (a reason given as a string, by that
string) over the entries still kept (``g.dead_letters`` keeps the newest few), with
the total ever added.

Heap: the instance and its 14-slot histogram, once; between snapshots the probe
allocates nothing (host_tests/lib/test_status.py proves it under heap_lock). A snapshot
builds its dict, and publishing it encodes it: ``make bench`` measures one
(``status_publish_bytes``, ``status_publish_us``).
"""
import time

try:
    from gc import mem_free
except ImportError:  # CPython: no MicroPython heap to report
    mem_free = None

_EDGES = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)  # ms; a last bin holds the rest


class Status:
    def __init__(self, p, every_ms=60000, bridge=None, topic="rill/{device}/status/metrics", key="status",
                 probe_ms=100, timing=False):
        self.every_ms = every_ms
        self.probe_ms = probe_ms
        self.bridge = bridge
        self.key = key
        self.graph = None
        self.hist = [0] * (len(_EDGES) + 1)
        self.stall_max = 0
        self.uptime_s = self._ms = 0
        self.heap_low = None
        self.backlog_t = self.backlog_p = None  # a checkpoint: (time, records produced by then)
        self.published = 0
        self._build = None
        self._max_us = {}
        p.record(key, dict)
        p.source(key, task=self._run, name="status")
        if timing:
            for n in p.nodes:
                if n.kind == "transform":
                    _time(n, self._max_us)
        if bridge is not None and topic:
            bridge.publish(key, topic, retain=True)

    async def _run(self, emit):
        self.graph = g = emit.graph
        clock = g.clock
        hist, edges, period = self.hist, _EDGES, self.probe_ms
        every = max(1, self.every_ms // period) if self.every_ms else 0  # in probes
        n = 0
        self._sample()
        last = deadline = clock.now()
        while True:
            deadline = clock.add(deadline, period)
            await clock.sleep_until(deadline)
            now = clock.now()
            late = clock.diff(now, deadline)
            if late < 0:
                late = 0
            i = 0
            for e in edges:
                if late <= e:
                    break
                i += 1
            hist[i] += 1
            if late > self.stall_max:
                self.stall_max = late
            if late >= period:  # held up past whole periods: keep the grid, count it once
                deadline = clock.add(deadline, (late // period) * period)
            ms = self._ms + clock.diff(now, last)
            last = now
            if ms >= 1000:
                self.uptime_s += ms // 1000
                ms %= 1000
            self._ms = ms
            self._sample()
            if self.bridge is not None:
                self._backlog(now, clock)
            if every:
                n += 1
                if n >= every:
                    n = 0
                    self.published += 1
                    emit(self.snapshot())

    def _sample(self):
        if mem_free is not None:
            free = mem_free()
            if self.heap_low is None or free < self.heap_low:
                self.heap_low = free

    def _backlog(self, now, clock):
        """Keep the checkpoint behind the oldest pending record: once every record produced
        before it has left the outbox (acknowledged, written or dropped), it moves to now.
        So ``now - backlog_t`` is the oldest pending record's age, to within a probe."""
        ob = self.bridge.outbox
        p = ob.produced
        if self.backlog_t is None or (p - ob.pending() - self.backlog_p) & 0x3FFFFFFF < 0x20000000:
            self.backlog_t, self.backlog_p = now, p

    def stall_p99(self):
        """The loop's stall at the 99th percentile, in ms: the upper edge of its
        histogram bin (the largest stall seen, past the last edge); None before a probe."""
        total = sum(self.hist)
        if not total:
            return None
        need = total - total // 100
        seen = 0
        for i, count in enumerate(self.hist):
            seen += count
            if seen >= need:
                return _EDGES[i] if i < len(_EDGES) else self.stall_max
        return self.stall_max

    def snapshot(self):
        """The status record, now: a dict (see the module). Needs the graph running."""
        g = self.graph
        if g is None:
            raise ValueError("Status: the graph has not started yet (g.start() or g.run())")
        if self._build is None:
            from . import identity

            self._build = identity.short(identity.load())
        from .describe import buffers, reasons, stages

        per_stage = stages(g)
        timed = self._max_us
        for n in timed:  # a dict's own iterator: no view allocated
            per_stage[n.name]["max_us"] = timed[n][0]
        out = {"uptime_s": self.uptime_s,
               "heap": {"free": mem_free() if mem_free else None, "low": self.heap_low},
               "stall_ms": {"p99": self.stall_p99(), "max": self.stall_max},
               "stages": per_stage, "buffers": buffers(g),
               "dead_letters": {"total": g.dead_letters.produced, "reasons": reasons(g.dead_letters)},
               "build": self._build}
        mq = self.bridge
        if mq is not None:
            ob = mq.outbox
            log = ob.spill if ob.spill is not None and not isinstance(ob.spill, tuple) else None  # rill.mqtt.spill
            pending = ob.pending()
            out["outbox"] = {"depth": ob.occupancy(), "pending": pending, "flash": log.n if log else 0,
                             "flash_bytes": log.used if log else 0, "drops": ob.dropped,
                             "oldest_ms": g.clock.diff(g.clock.now(), self.backlog_t)
                             if pending and self.backlog_t is not None else 0}
            out["reconnects"] = mq.connects - 1 if mq.connects > 1 else 0
            out["memory_errors"] = mq.memory_errors
            out["boot"] = mq.seq.boot
        return out


def _time(node, maxes):
    """Wrap transform ``node`` so that ``maxes[node][0]`` keeps its slowest call in µs.
    Two ticks_us() and a compare per call; nothing allocated."""
    fn = node.fn
    n = len(node.inputs) + len(node.watch)
    if hasattr(fn, "bind") or n > 3:
        return
    if node.name is None:  # named now, by what it wraps: build() would name it after the wrapper
        from .check import _name

        node.name = _name(fn)
    slot = maxes[node] = [0]
    us, diff = time.ticks_us, time.ticks_diff

    def keep(t0):
        d = diff(us(), t0)
        if d > slot[0]:
            slot[0] = d

    if n == 1:
        def timed(a):
            t0 = us()
            r = fn(a)
            keep(t0)
            return r
    elif n == 2:
        def timed(a, b):
            t0 = us()
            r = fn(a, b)
            keep(t0)
            return r
    else:
        def timed(a, b, c):
            t0 = us()
            r = fn(a, b, c)
            keep(t0)
            return r
    node.fn = timed
