"""Log: a levelled ring of the newest ``n`` entries, preallocated, readable at the REPL
and optionally published (to a log topic through the bridge).

    from rill.log import Log, WARN
    log = Log(32)
    log.warn("bme280", "read failed", 3)      # level, then tag, message and one value
    log.entries()                             # [(t_ms, "warn", "bme280", "read failed", 3)], oldest first

An entry keeps what it was given (no formatting), so logging a constant message and a
small int allocates nothing (a heap_lock test shows it); a call below ``level`` returns
at once. The ring keeps the newest ``n``: ``produced`` counts every entry kept,
``dropped`` those overwritten, ``counts`` per level.

``log.attach(p)`` (before ``p.build()``) declares record ``key`` (a Ring of 8 lists), a
pushed source, and pushes ``[t, level, tag, message, value]`` for every entry at
``publish_level`` or above (WARN by default) once the graph runs; publish that record
with the bridge (``mq.publish("log", "rill/{device}/log")``). While the broker is away
they wait in the bridge's outbox, which is bounded (its policy drops the oldest and
counts it), and the ring keeps the newest here. A published entry allocates its list.

Heap: five lists of ``n`` slots, once.
"""
from time import ticks_ms

DEBUG, INFO, WARN, ERROR = 10, 20, 30, 40
_NAMES = {DEBUG: "debug", INFO: "info", WARN: "warn", ERROR: "error"}


class Log:
    def __init__(self, n=32, level=INFO):
        self.n = n
        self.level = level
        self._t = [0] * n
        self._lv = [0] * n
        self._tag = [None] * n
        self._msg = [None] * n
        self._val = [None] * n
        self._head = 0
        self.produced = self.dropped = 0
        self.counts = [0, 0, 0, 0]  # debug, info, warn, error
        self.publish_level = WARN
        self._node = None

    def log(self, level, tag, msg, value=None):
        """Keep an entry at ``level`` (DEBUG, INFO, WARN, ERROR) unless below ``self.level``."""
        if level < self.level:
            return
        i = self._head
        self._t[i] = t = ticks_ms()
        self._lv[i] = level
        self._tag[i] = tag
        self._msg[i] = msg
        self._val[i] = value
        self._head = i + 1 if i + 1 < self.n else 0
        if self.produced >= self.n:
            self.dropped += 1
        self.produced += 1
        self.counts[level // 10 - 1 if DEBUG <= level <= ERROR else 3] += 1
        node = self._node
        if node is not None and level >= self.publish_level and node.graph is not None and node.graph.clock:
            try:
                node.graph.push(node.out, [t, _NAMES.get(level, level), tag, msg, value])
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
        k = min(self.produced, self.n)
        out = []
        for j in range(self._head - k, self._head):
            out.append((self._t[j], _NAMES.get(self._lv[j], self._lv[j]), self._tag[j], self._msg[j], self._val[j]))
        return out

    def attach(self, p, key="log", publish_level=WARN):
        """Declare record ``key`` and its pushed source in Pipeline ``p`` (before build())."""
        from .buffers import Ring

        self.publish_level = publish_level
        p.record(key, list, Ring(8))
        p.source(key, name="log")
        self._node = p._nodes[-1]
        return self
