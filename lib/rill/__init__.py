"""rill: reactive sensor pipelines for MicroPython.

Records live in fixed buffers; sources push, transforms fire on their inputs, taps
observe. See README.md for the concepts.
"""
try:  # the seam, as in MicroPython's own asyncio
    import micropython  # noqa: F401
except ImportError:
    from . import cpython_compat  # noqa: F401  (makes CPython look like MicroPython)

from . import wake  # noqa: F401  (see below)
from .buffers import BLOCK, DROP, EMPTY, ERROR, DeadLetters, Latest, Ring  # noqa: F401
from .pipeline import GraphError, Pipeline  # noqa: F401

__version__ = "0.1.0"
__all__ = ("BLOCK", "DROP", "EMPTY", "ERROR", "DeadLetters", "Latest", "Ring", "GraphError", "Pipeline")

# rill.wake (the wake-ups of rill.graph and rill.queues) loads with the package, before
# build() loads rill.graph: loaded in the middle of rill.graph's import instead, it
# leaves about 300 B more of the heap in use (make bench, core_import_bytes).


def __getattr__(name):
    """Queue, Mailbox and QueueFull load on first use (rill.queues: a board that uses
    none pays no heap for them). Any other name is a submodule, imported as
    ``from rill import board`` asks (MicroPython looks here before it imports one).
    A dunder is never a submodule: tools probe for them (``__wrapped__``)."""
    if name[:2] == "__":
        raise AttributeError(name)
    leaf = "queues" if name in ("Queue", "Mailbox", "QueueFull") else name
    mod = __import__("rill." + leaf, None, None, (name,))
    return mod if leaf == name else getattr(mod, name)
