"""Allocation-free wake-ups that reach into asyncio's internals: the one module that does.

- ``Signal``: a reusable wake-up for one waiting task. ``asyncio.Event.wait()``
  allocates a generator on every call (96 bytes on the unix port); a Signal is awaited
  directly (``await sig``) and costs nothing per wake. One task waits at a time;
  ``set()`` may be called any number of times before it runs (the wake is remembered),
  only from the loop's own thread. About 200 B of heap per instance.
- ``IoWait(sock, write=False)``: await a socket becoming readable or writable, made
  once per connection and awaited again and again. It parks the task on asyncio's own
  poller (the mechanism of asyncio's streams, which cannot wrap umqtt's socket). One
  reader and one writer may wait on the same socket at once; cancelling a waiting task
  unregisters it. Nothing is allocated per wait.

The seam is a try-import, as in MicroPython's own asyncio: ``asyncio.core`` exists only
on MicroPython; CPython gets equivalents on its event loop from ``cpython_compat``.
"""
try:
    from asyncio import core
except ImportError:
    from .cpython_compat import IoWait, Signal  # noqa: F401
else:

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

    class IoWait:
        def __init__(self, sock, write=False):
            self.sock = sock
            self.write = write
            self._armed = False
            self._done = StopIteration()

        def __iter__(self):
            self._armed = False
            return self

        def __next__(self):
            if self._armed:
                self._armed = False
                self._done.__traceback__ = None
                raise self._done
            self._armed = True
            if self.write:
                core._io_queue.queue_write(self.sock)
            else:
                core._io_queue.queue_read(self.sock)
            return None
