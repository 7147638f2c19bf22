"""rill's host package: the ``rill`` command (``cli``) and everything it runs: a project
scaffold (``scaffold``), ``build``, ``deploy``, ``vboard``, ``evidence``, ``bench``,
``gateway``, ``fleet``, and the pytest plugin and fixtures (``testing``).

Where its data lives: in a checkout (``pip install -e .``), the checkout's ``lib/``,
``boards/`` and ``firmware/``; installed from a wheel, the same folders inside the package
(``boards``, ``example``) and the ``rill`` package beside it. ``ROOT`` is the folder
whose ``build/`` receives output: the checkout, else the current folder (the project).
"""
import importlib.util
import os

PKG = os.path.dirname(os.path.abspath(__file__))
_up = os.path.dirname(os.path.dirname(PKG))
CHECKOUT = _up if os.path.isfile(os.path.join(_up, "lib", "rill", "__init__.py")) else None


def _lib():
    """The folder holding the ``rill`` package: the checkout's lib/, else where it is installed."""
    if CHECKOUT:
        return os.path.join(CHECKOUT, "lib")
    spec = importlib.util.find_spec("rill")
    return os.path.dirname(list(spec.submodule_search_locations)[0])


LIB = _lib()
BOARDS = os.path.join(CHECKOUT, "boards") if CHECKOUT else os.path.join(PKG, "boards")
BOARDS_ROOT = os.path.dirname(BOARDS)  # $RILL_ROOT for rill.board: the folder that holds boards/
EXAMPLE = os.path.join(CHECKOUT, "firmware") if CHECKOUT else os.path.join(PKG, "example")  # the example app
ROOT = CHECKOUT or os.getcwd()
# the pinned MicroPython libraries (build/deps.lock): the checkout's .deps/, else a per-user cache
DEPS_HOME = CHECKOUT or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rill")
DEPS = os.path.join(DEPS_HOME, ".deps", "micropython")
MP_DIR = os.path.join(PKG, "testing", "mp")  # runs on MicroPython: runner, testkit
