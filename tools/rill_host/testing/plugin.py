"""The rill pytest plugin (entry point ``pytest11: rill``), for any project.

- Every test runs on each runtime of runtimes.py: ``[cpython]``, ``[micropython]`` (the
  64-bit unix port) and ``[micropython32]`` (the 32-bit unix port, at the board's own
  heap budget; found by ``--micropython32 PATH``, $RILL_MICROPYTHON32, or
  ../shared/micropython/micropython32 beside the checkout; without one, one line says so
  and the others run), unless opted out: ``@cpython_only`` (from testkit) on a test,
  ``RILL_RUNTIMES = ("cpython",)`` in a module, or a folder listed in ini
  ``rill_cpython_only``.
- rill, its pinned dependencies, testkit and the project's root folder import on each.
- Fixtures: ``clock`` (a VirtualClock), ``board`` (a simulated ``rill_board`` whose
  devices keep ``clock``'s time), ``replay`` (a capture through a pipeline), and the
  MQTT brokers of tools/rill_host/testing/brokers.py (``broker``: mosquitto, or amqtt).
- The run ends with one line per runtime (or the line saying why it did not run),
  counting only the tests run on every runtime, and one line per other suite (named by
  its folder), before pytest's own last line.
"""
import os
import sys

import pytest

from rill_host import DEPS, LIB, MP_DIR
from rill_host.testing import brokers, harness, qemu, runtimes
from rill_host.testing.runtimes import DEFAULT_BOARD


def pytest_addoption(parser):
    parser.addoption("--micropython32", metavar="PATH",
                     help="32-bit MicroPython unix port (default: $RILL_MICROPYTHON32, else "
                          "../shared/micropython/micropython32 beside the rill checkout)")
    parser.addini("rill_board", "board id (boards/<ID>) for the board fixture and the MicroPython heap budget")
    parser.addini("rill_heap", "64-bit MicroPython's heap for the tests, e.g. 256K (default: the board's budget x 1.5)")
    parser.addini("rill_heap32", "32-bit MicroPython's heap for the tests (default: the board's budget)")
    parser.addini("rill_cpython_only", "folders whose tests run on CPython only", type="linelist")


class State:
    def __init__(self, config):
        root = self.rootpath = str(config.rootpath)
        self.project = [root]
        self.runtimes = runtimes.table()
        self.missing = {rt.name: rt.available(config) for rt in self.runtimes}  # name -> why not, or None
        self.board = config.getini("rill_board") or DEFAULT_BOARD
        base = os.path.dirname(str(config.inipath)) if config.inipath else root
        self.cpython_only = [os.path.join(base, p) for p in config.getini("rill_cpython_only")]
        self.labels = {}  # nodeid -> "runtime=..." or "suite=..."
        self.counts = {}  # label -> [passed, failed, skipped]
        self.qemu = qemu.Session(self.board)  # RILL_QEMU=subset|all: the emulated MCU (rill_host/testing/qemu.py)

    def dual(self, path, module, fn):
        """The names of the runtimes this test runs on, or [] when it is CPython's alone."""
        declared = getattr(fn, "rill_runtimes", None) or getattr(module, "RILL_RUNTIMES", ("micropython",))
        if "micropython" not in declared or self.cpython_only_path(str(path)):
            return []
        return [rt.name for rt in self.runtimes if not self.missing[rt.name] and rt.wants(module, fn)]

    def cpython_only_path(self, path):
        return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in self.cpython_only)

    def runtime(self, name):
        return next(rt for rt in self.runtimes if rt.name == name)


_KEY = pytest.StashKey()


def pytest_configure(config):
    state = config.stash[_KEY] = State(config)
    harness.ensure_deps()  # first: a folder put on sys.path before it exists is skipped for good
    for p in [LIB, DEPS, MP_DIR] + state.project:
        if p not in sys.path:
            sys.path.insert(0, p)
    if not config.pluginmanager.is_registered(brokers):
        config.pluginmanager.register(brokers, "rill-brokers")
    config.pluginmanager.register(Summary(state), "rill-summary")


def pytest_generate_tests(metafunc):
    state = metafunc.config.stash[_KEY]
    names = state.dual(metafunc.definition.path, metafunc.module, metafunc.function)
    if names:
        metafunc.parametrize("runtime", names + state.qemu.runtimes_for(metafunc.definition.path))


@pytest.fixture(autouse=True)
def runtime(request):
    """The runtime this test runs on: "cpython", "micropython" or "micropython32" (its parameter)."""
    return getattr(request, "param", "cpython")


@pytest.fixture
def clock():
    """A VirtualClock: time moves only with ``await clock.advance(ms)``."""
    from rill.clock import VirtualClock

    return VirtualClock()


@pytest.fixture
def board(request, clock):
    """The project's board (ini ``rill_board``), simulated, its devices on ``clock``."""
    from rill import board as boards

    return boards.load(request.config.stash[_KEY].board, sim=True, clock=clock)


@pytest.fixture
def replay(clock):
    """``replay(capture, pipeline, bridges=())``: the pipeline's transcript of a capture
    replayed on ``clock`` (testkit.replay_on; on MicroPython the runner makes the same)."""
    from testkit import replay_on

    return replay_on(clock)


def label_of(state, nodeid):
    """``runtime=<name>`` for a test run on a runtime (its parameter in the id), else
    ``suite=<its folder>``. From the id alone: under pytest-xdist the controller, which
    counts, collects nothing."""
    if nodeid not in state.labels:
        path, _, rest = nodeid.partition("::")
        ids = rest[rest.find("[") + 1:-1] if rest.endswith("]") else ""
        if state.cpython_only_path(os.path.join(str(state.rootpath), path)):
            ids = ""  # a CPython-only suite's own parameters are no runtimes
        for rt in list(state.missing) + list(qemu.RUNTIMES):
            if ids == rt or ids.startswith(rt + "-") or ids.endswith("-" + rt) or "-%s-" % rt in ids:
                state.labels[nodeid] = "runtime=" + rt
                break
        else:
            state.labels[nodeid] = "suite=" + os.path.basename(os.path.dirname(path))
    return state.labels[nodeid]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    spec = getattr(pyfuncitem, "callspec", None)
    state = pyfuncitem.config.stash[_KEY]
    if spec is not None and spec.params.get("runtime") in qemu.RUNTIMES:
        state.qemu.run(pyfuncitem, spec.params["runtime"])
        return True
    rt = state.runtime(spec.params.get("runtime")) if spec is not None and "runtime" in spec.params else None
    if rt is None or rt.run is None:
        return None
    rt.run(pyfuncitem, state)
    return True


class Summary:
    """Counts each test's outcome under its label; writes one line per label at the end (for a
    runtime that is not here, the one line saying why)."""

    def __init__(self, state):
        self.state = state

    def pytest_runtest_logreport(self, report):
        label = label_of(self.state, report.nodeid)
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed") or (
                report.when == "teardown" and report.failed):
            c = self.state.counts.setdefault(label, [0, 0, 0])
            c[("passed", "failed", "skipped").index(report.outcome)] += 1

    def pytest_terminal_summary(self, terminalreporter):
        counts = self.state.counts
        for name, why in self.state.missing.items():
            if why:
                terminalreporter.write_line("runtime=%s not run: %s" % (name, why))
        ran = []
        if any(k.startswith("runtime=") for k in counts) or not counts:  # (a run of CPython-only suites: none)
            ran = ["runtime=" + name for name, why in self.state.missing.items() if not why]
            ran += ["runtime=" + r for r in qemu.RUNTIMES if "runtime=" + r in counts]
        for label in ran + sorted(k for k in counts if k.startswith("suite=")):
            passed, failed, skipped = counts.get(label, (0, 0, 0))
            terminalreporter.write_line("%s passed=%d failed=%d skipped=%d" % (label, passed, failed, skipped))
        for line in self.state.qemu.summary():
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config):
        self.state.qemu.close()
