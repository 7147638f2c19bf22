"""Await a socket becoming readable or writable without polling and without allocating.

``w = IoWait(sock, write=False)`` is made once per connection and awaited again and
again: ``await w``. On MicroPython it parks the task on asyncio's own poller (the
same mechanism as asyncio's streams, which cannot wrap umqtt's socket); on CPython
it uses the loop's add_reader/add_writer. One reader and one writer may wait on the
same socket at once. Cancelling a waiting task unregisters it.
"""
import sys

if sys.implementation.name == "micropython":
    from asyncio import core

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

else:
    from rill.cpython_compat import IoWait  # noqa: F401  (on the loop's add_reader/add_writer)
