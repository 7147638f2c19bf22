"""The simulated ``machine.Pin`` (rill.sim.machine loads it at first use): a GPIO with the
level a test drives from outside; ``drive(level)`` and ``burst(n)`` make input edges,
calling the IRQ handler as the hardware would, without allocating."""


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = Pin.IN
        self.pull = None
        self._level = 0
        self._handler = None
        self._trigger = 0
        self.hard = False
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
            if pull == Pin.PULL_UP:
                self._level = 1
            elif pull == Pin.PULL_DOWN:
                self._level = 0
        if value is not None:
            self._level = 1 if value else 0

    def value(self, v=None):
        if v is None:
            return self._level
        self._level = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._level = 1

    def off(self):
        self._level = 0

    def toggle(self):
        self._level ^= 1

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self._handler = handler
        self._trigger = trigger
        self.hard = hard
        return self

    # -- test side -----------------------------------------------------------------

    def drive(self, level):
        """Set the level the outside world puts on this input; a change fires the IRQ."""
        level = 1 if level else 0
        if level != self._level:
            self._level = level
            self._edge(level)

    def burst(self, n):
        """``n`` alternating edges in a row, each calling the handler (allocates nothing)."""
        for _ in range(n):
            level = self._level ^ 1
            self._level = level
            self._edge(level)

    def _edge(self, level):
        h = self._handler
        if h is not None and self._trigger & (Pin.IRQ_RISING if level else Pin.IRQ_FALLING):
            h(self)
