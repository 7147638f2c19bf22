"""rill: reactive sensor pipelines for MicroPython.

Records live in fixed buffers; sources push, transforms fire on their inputs, taps
observe. See README.md for the concepts.
"""
import sys

if sys.implementation.name != "micropython":
    from . import cpython_compat  # noqa: F401  (makes CPython look like MicroPython)

from .buffers import BLOCK, DROP, EMPTY, ERROR, DeadLetters, Latest, Mailbox, Queue, QueueFull, Ring  # noqa: F401
from .pipeline import GraphError, Pipeline  # noqa: F401

__version__ = "0.1.0"
