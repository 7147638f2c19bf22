"""Allocation-free wake-ups that reach into asyncio's internals: the one module that does.

- ``Signal()``: a reusable wake-up for one waiting task. ``asyncio.Event.wait()``
  allocates a generator on every call (96 bytes on the unix port); a Signal is awaited
  directly (``await sig``) and costs nothing per wake. One task waits at a time;
  ``set()`` may be called any number of times before it runs (the wake is remembered),
  only from the loop's own thread. About 200 B of heap per instance.
- ``IoWait(sock, write=False)``: a Signal that asyncio's own poller sets when ``sock``
  becomes readable (or writable), the mechanism of asyncio's streams, which cannot wrap
  umqtt's socket. Made once per connection and awaited again and again; each await
  waits anew. One reader and one writer may wait on the same socket at once;
  cancelling a waiting task unregisters it. Nothing is allocated per wait. (One class
  for both: a second would cost every board about 640 B of heap, MQTT or not.)

The seam is a try-import, as in MicroPython's own asyncio: ``asyncio.core`` exists only
on MicroPython; CPython gets equivalents on its event loop from ``cpython_compat``.
"""
try:
    from asyncio import core
except ImportError:
    from .cpython_compat import IoWait, Signal  # noqa: F401
else:

    class Signal:
        sock = None  # an IoWait's socket (and ``write``: whether it waits for room to write)
        _done = StopIteration()  # raised to end an await: one for all, kept free of tracebacks

        def __init__(self, sock=None, write=False):
            self._task = None
            self.pending = False
            if sock is not None:
                self.sock = sock
                self.write = write

        def set(self):
            self.pending = True
            task = self._task
            if task is not None:
                self._task = None
                core._task_queue.push(task)

        def remove(self, task):  # asyncio calls this when the waiting task is cancelled
            self._task = None

        def __iter__(self):
            if self.sock is not None:
                self.pending = False  # an IoWait's await waits anew, even after a cancelled one
            return self

        def __next__(self):
            if self.pending:
                self.pending = False
                self._done.__traceback__ = None
                raise self._done
            sock = self.sock
            if sock is None:
                self._task = core.cur_task
                core.cur_task.data = self
            else:  # the poller resumes the task when sock is ready; then the wait is over
                self.pending = True
                if self.write:
                    core._io_queue.queue_write(sock)
                else:
                    core._io_queue.queue_read(sock)
            return None

    IoWait = Signal
