"""Log: a levelled ring of the newest ``n`` entries, preallocated, readable at the REPL
and optionally published (to a log topic through the bridge).

    from rill.log import Log, WARN
    log = Log(32)
    log.warn("bme280", "read failed", 3)      # level, then tag, message and one value
    log.entries()                             # [(t_ms, "warn", "bme280", "read failed", 3)], oldest first

It is the dead letters' ring (rill.buffers.DeadLetters) with five slots an entry. An
entry keeps what it was given (no formatting), so logging a constant message and a
small int allocates nothing (a heap_lock test shows it); a call below ``level`` returns
at once. The ring keeps the newest ``n``: ``produced`` counts every entry kept,
``dropped`` those overwritten, ``counts`` per level.

An entry's time is the graph's clock once the graph it is attached to runs (so a run on
a VirtualClock logs the same times every time), else ``time.ticks_ms()``.

``log.attach(p)`` (before ``p.build()``) declares record ``key`` (a Ring of 8 lists), a
pushed source, and pushes ``[t, level, tag, message, value]`` for every entry at
``publish_level`` or above (WARN by default) once the graph runs; publish that record
with the bridge (``mq.publish("log", "rill/{device}/log")``). While the broker is away
they wait in the bridge's outbox, which is bounded (its policy drops the oldest and
counts it), and the ring keeps the newest here. A published entry allocates its list.

Heap: one list of 5 x ``n`` slots, once.
"""
from time import ticks_ms

from .buffers import DeadLetters

DEBUG, INFO, WARN, ERROR = 10, 20, 30, 40
_NAMES = {DEBUG: "debug", INFO: "info", WARN: "warn", ERROR: "error"}


class Log(DeadLetters):
    kind = "log"

    def __init__(self, n=32, level=INFO):
        super().__init__(n, 5)  # add() keeps tag, value, message; then time and level
        self.n = n
        self.level = level
        self.counts = [0, 0, 0, 0]  # debug, info, warn, error
        self.publish_level = WARN
        self._node = None

    def log(self, level, tag, msg, value=None):
        """Keep an entry at ``level`` (DEBUG, INFO, WARN, ERROR) unless below ``self.level``."""
        if level < self.level:
            return
        node = self._node
        graph = node.graph if node is not None else None
        clock = graph.clock if graph is not None else None
        t = clock.now() if clock else ticks_ms()
        i = 5 * self._head
        self.add(tag, value, msg)
        slots = self._slots
        slots[i + 3] = t
        slots[i + 4] = level
        self.counts[level // 10 - 1 if DEBUG <= level <= ERROR else 3] += 1
        if clock and level >= self.publish_level:
            try:
                graph.push(node.out, [t, _NAMES.get(level, level), tag, msg, value])
            except Exception:
                pass  # a full queue: counted there; the ring still has the entry

    def debug(self, tag, msg, value=None):
        self.log(DEBUG, tag, msg, value)

    def info(self, tag, msg, value=None):
        self.log(INFO, tag, msg, value)

    def warn(self, tag, msg, value=None):
        self.log(WARN, tag, msg, value)

    def error(self, tag, msg, value=None):
        self.log(ERROR, tag, msg, value)

    def entries(self):
        """The kept entries, oldest first, as (t_ms, level name, tag, message, value)."""
        s = self._slots
        out = []
        for i in range(5 * (self._head - self.occupancy()), 5 * self._head, 5):  # negative when wrapped
            out.append((s[i + 3], _NAMES.get(s[i + 4], s[i + 4]), s[i], s[i + 2], s[i + 1]))
        return out

    def attach(self, p, key="log", publish_level=WARN):
        """Declare record ``key`` and its pushed source in Pipeline ``p`` (before build())."""
        from .buffers import Ring

        self.publish_level = publish_level
        p.record(key, list, Ring(8))
        p.source(key, name="log")
        self._node = p.nodes[-1]
        return self
