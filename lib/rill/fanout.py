"""Fanout: the Signals of a record's taps woken as one, when it has more than one
(a step's ``wake``, rill.dispatch). Loaded by rill.wiring only for such a record, so
a graph with at most one tap per record pays nothing for it (about 0.3 KB)."""


class Fanout:
    pending = False  # never pending itself: every write wakes each tap not yet woken

    def __init__(self, signals):
        self.signals = signals

    def set(self):
        for s in self.signals:
            if not s.pending:
                s.set()
