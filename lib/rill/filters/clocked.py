"""What the filters that keep time share: ``_Clocked`` (the pipeline's clock, graph and
node, given by ``bind``) and ``every`` (the periodic task of those that send on their
own). Outside a pipeline the clock is ``time.ticks_ms`` (the module rill.graph, the real clock).
"""
from .. import graph as _ticks  # the real clock: now/add/diff on time.ticks_ms


class _Clocked:
    clock = _ticks
    graph = node = None

    def bind(self, graph, node):
        self.clock = graph.clock
        self.graph = graph
        self.node = node


def every(graph, node, ms, fn):
    """Spawn a task that, every ``ms`` from now, writes ``fn()`` (unless None) as ``node``'s output."""

    async def run():
        clock = graph.clock
        deadline = clock.now()
        while True:
            deadline = clock.add(deadline, ms)
            await clock.sleep_until(deadline)
            graph.write(node, fn())

    graph.spawn(run())
