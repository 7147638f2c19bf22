"""The runtimes a test runs on, in the order of the summary lines, and the heap each gives it.

A runtime is an object with ``name``; ``available(config)``: None, or one line saying why
it cannot run here and how to get it (its tests are then not generated, and that line
stands in for its summary line); ``wants(module, fn)``: whether it runs this test (a
runtime that runs a declared subset says no to the rest); and ``run(item, state)``, or
``run = None`` for cpython, which pytest runs in its own process. Another runtime (an
emulated MCU with a runner module of its own) is one more entry in ``table()``.

Heaps on the unix ports (``heap(config, module, board)``: the size and where it comes from):
- ``micropython``, the 64-bit port: the module's ``MP_HEAPSIZE``, else ini ``rill_heap``,
  else the board's ``heap_budget_kb`` (ini ``rill_board``) x the binary's heap scale
  (1.5 when it is 64-bit: tools/rill_host/common.py asks its ``sys.maxsize``), else 128K.
- ``micropython32``, the 32-bit port, where boards' figures hold as they are: the module's
  ``MP_HEAPSIZE32`` with ``MP_HEAPSIZE32_WHY`` (one line: why the board's budget is not
  enough, and the measured need), else ini ``rill_heap32``, else the board's
  ``heap_budget_kb`` exactly: ini ``rill_board``'s or, for a module that raises the heap
  (``MP_HEAPSIZE``), the board fixture's (RPI_PICO_W when none is set), else 128K.
"""
import json
import os

import pytest

from rill_host import BOARDS
from rill_host.testing import harness

DEFAULT_HEAP = "128K"  # no board declared: between an ESP32's free heap (~110 KB) and a Pico's (~190 KB)
DEFAULT_BOARD = "RPI_PICO_W"  # the board fixture's board when ini rill_board names none


def budget_kb(board_id):
    """boards/<id>/board.json's heap_budget_kb (0 when it has none)."""
    with open(os.path.join(BOARDS, board_id, "board.json")) as f:
        return json.load(f).get("heap_budget_kb") or 0


class CPython:
    name = "cpython"
    run = None

    def available(self, config):
        return None

    def wants(self, module, fn):
        return True


class UnixPort:
    """A MicroPython unix port: rill compiled once a session for its -march into build/<folder>."""

    def __init__(self, name, folder):
        self.name = name
        self.folder = folder
        self.compiled = False

    def exe(self):
        raise NotImplementedError

    def wants(self, module, fn):
        return True

    def run(self, item, state):
        exe = self.exe()
        # one folder per pytest-xdist worker: each compiles its own copy once
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        mpy_lib = os.path.join(str(item.config.rootpath), "build", self.folder + ("-" + worker if worker else ""))
        if not self.compiled:
            harness.compile_lib(mpy_lib, harness.tools_common().mpy_arch(exe))
            self.compiled = True
        heap, why = self.heap(item.config, item.module, state.board)
        harness.run_on_micropython(item, self.name, exe, heap, why, mpy_lib, state.project, state.board)


class Unix64(UnixPort):
    def __init__(self):
        UnixPort.__init__(self, "micropython", "test-mpy")

    def available(self, config):
        return None  # required: a missing port is a usage error when the first test needs it

    def exe(self):
        return harness.micropython_exe()

    def heap(self, config, module, board):
        if getattr(module, "MP_HEAPSIZE", None):
            return module.MP_HEAPSIZE, "MP_HEAPSIZE in %s" % os.path.basename(module.__file__)
        if config.getini("rill_heap"):
            return config.getini("rill_heap"), "rill_heap in %s" % (config.inipath or "the pytest config")
        board_id = config.getini("rill_board")
        kb = budget_kb(board_id) if board_id else 0
        if kb:
            scale = harness.tools_common().heap_scale(self.exe())
            return "%dK" % int(kb * scale), "board %s: heap_budget_kb %d x %s for this port's word size" % (
                board_id, kb, scale)
        return DEFAULT_HEAP, "the default (no rill_board set)"


class Unix32(UnixPort):
    def __init__(self):
        UnixPort.__init__(self, "micropython32", "test-mpy32")
        self.path = None

    def available(self, config):
        common = harness.tools_common()
        self.path, why = common.micropython32_exe(config.getoption("micropython32", None))
        return None if self.path else "%s; to get one, %s" % (why, common.GET_MICROPYTHON32)

    def exe(self):
        return self.path

    def heap(self, config, module, board):
        name = os.path.basename(module.__file__)
        if getattr(module, "MP_HEAPSIZE32", None):
            if not getattr(module, "MP_HEAPSIZE32_WHY", None):
                raise pytest.UsageError("%s sets MP_HEAPSIZE32 without MP_HEAPSIZE32_WHY (one line: why the "
                                        "board's heap budget is not enough)" % name)
            return module.MP_HEAPSIZE32, "MP_HEAPSIZE32 in %s: %s" % (name, module.MP_HEAPSIZE32_WHY)
        if config.getini("rill_heap32"):
            return config.getini("rill_heap32"), "rill_heap32 in %s" % (config.inipath or "the pytest config")
        board_id = config.getini("rill_board") or (board if getattr(module, "MP_HEAPSIZE", None) else None)
        kb = budget_kb(board_id) if board_id else 0
        if kb:
            return "%dK" % kb, "board %s: heap_budget_kb %d" % (board_id, kb)
        return DEFAULT_HEAP, "the default (no rill_board set)"


def table():
    """A session's runtimes, in summary order (each keeps its compiled-once state)."""
    return [CPython(), Unix64(), Unix32()]
