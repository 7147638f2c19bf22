"""Signal: a reusable, allocation-free wake-up for one waiting task.

``asyncio.Event.wait()`` allocates a generator on every call (96 bytes on the unix
port); a Signal is awaited directly (``await sig``) and costs nothing per wake.
One task waits at a time; ``set()`` may be called any number of times before it
runs, and the wake is remembered (like ThreadSafeFlag, but only from the loop).
"""
import sys

if sys.implementation.name == "micropython":
    from asyncio import core

    class Signal:
        def __init__(self):
            self._task = None
            self.pending = False
            self._done = StopIteration()

        def set(self):
            self.pending = True
            task = self._task
            if task is not None:
                self._task = None
                core._task_queue.push(task)

        def remove(self, task):  # asyncio calls this when the waiting task is cancelled
            self._task = None

        def __iter__(self):
            return self

        def __next__(self):
            if self.pending:
                self.pending = False
                self._done.__traceback__ = None
                raise self._done
            self._task = core.cur_task
            core.cur_task.data = self
            return None

else:
    from .cpython_compat import Signal  # noqa: F401
