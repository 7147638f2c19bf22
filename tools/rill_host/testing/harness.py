"""Run one collected test on a MicroPython unix port (64- or 32-bit) and report the outcome to pytest.

The library and the harness's own MicroPython side (mp/) are compiled to .mpy once per
session and port (``compile_lib``, native code for the port's -march), so the port loads
bytecode as a board does instead of compiling on its small heap. Each test then runs in its own
``micropython -X heapsize=H -m _rill_runner FILE TEST`` process (the heap is the
runtime's choice, tools/rill_host/testing/runtimes.py) whose
fixtures are made there (``clock``, ``board``, ``replay``) or proxied to the host's objects (the
rest: their plain attributes as a snapshot, method calls as JSON lines).
"""
import inspect
import json
import os
import queue
import subprocess
import threading
import time

import pytest

from rill_host import BOARDS_ROOT, DEPS, MP_DIR, common
from rill_host.build import deps
from rill_host.build.mpy import build_mpy, compile_file

MARK = "\x02"
RUNNER = "_rill_runner"  # mp/runner.py, compiled under a name no project uses
DEFAULT_TIMEOUT_S = 60
LOCAL = ("clock", "board", "replay")  # fixtures made on MicroPython itself, not proxied


def tools_common():
    """rill_host.common (the old name: the tools' shared plumbing)."""
    return common


_found = []


def micropython_exe():
    """The unix port, found where every tool finds it (tools/rill_host/common.py), once a session."""
    if not _found:
        common = tools_common()
        try:
            _found.append(common.need_micropython())
        except common.CliError as e:
            raise pytest.UsageError(str(e))
    return _found[0]


def ensure_deps():
    """The pinned MicroPython libraries in .deps/ (rill_host.build.deps fetches them once)."""
    if not os.path.isdir(DEPS):
        try:
            deps.main([])
        except common.CliError as e:
            raise pytest.UsageError(str(e))


def compile_lib(out, arch):
    """rill's lib/ (native code for ``arch``: x64 or x86), testkit and the runner as .mpy into
    ``out``, by rill_host.build.mpy; testkit and the runner as bytecode for any port."""
    try:
        build_mpy(out, arch)
        for src, name in ((os.path.join(MP_DIR, "testkit.py"), "testkit.mpy"),
                          (os.path.join(MP_DIR, "runner.py"), RUNNER + ".mpy")):
            compile_file(src, os.path.join(out, name), None)
    except common.CliError as e:
        raise pytest.UsageError(str(e))


def micropython_path(mpy_lib, project):
    """MICROPYPATH: the port's frozen modules, compiled rill and testkit, pinned deps, the project."""
    return ":".join([".frozen", mpy_lib, DEPS] + list(project))


def _rpc_attrs(obj):
    if hasattr(obj, "rpc_attrs"):
        return obj.rpc_attrs()
    plain = (int, float, str, bool, type(None), list, dict)
    return {k: v for k, v in vars(obj).items() if not k.startswith("_") and isinstance(v, plain)}


def _spec(names, objects, board_id):
    spec = []
    for n in names:
        if n == "clock":
            spec.append([n, "clock", None])
        elif n == "board":
            spec.append([n, "board", board_id])
        elif n == "replay":
            spec.append([n, "replay", None])
        else:
            spec.append([n, "rpc", _rpc_attrs(objects[n])])
    return spec


def _reader(stream, lines):
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def _serve(proc, objects, timeout, name):
    """Relay the runner's RPC calls until it exits; (result marker, other output)."""
    lines = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    output, result = [], None
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail("%s: timed out after %ss\n%s" % (name, timeout, "".join(output)), pytrace=False)
        if line is None:
            return result, output
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


def run_on_micropython(item, name, exe, heap, why, mpy_lib, project, board_id):
    """Run ``item`` on the unix port ``exe`` (runtime ``name``) with ``heap`` (``why``: where it comes from)."""
    names = list(inspect.signature(item.obj).parameters)
    objects = {n: item.funcargs[n] for n in names}
    timeout = getattr(item.module, "MP_TIMEOUT_S", DEFAULT_TIMEOUT_S)
    cmd = [exe, "-X", "heapsize=" + heap, "-m", RUNNER, str(item.path), item.originalname,
           json.dumps(_spec(names, objects, board_id))]
    env = dict(os.environ, MICROPYPATH=micropython_path(mpy_lib, project), RILL_ROOT=BOARDS_ROOT)
    proc = subprocess.Popen(cmd, cwd=str(item.config.rootpath), env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
    try:
        result, output = _serve(proc, objects, timeout, name)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    if result != "pass":
        text = "".join(output)
        if "no module named 'pytest'" in text:
            text += ("Tests that run on MicroPython too cannot import pytest: use testkit, or keep the module on "
                     "CPython with RILL_RUNTIMES = (\"cpython\",).\n")
        if "MemoryError" in text:
            text += ("MicroPython's heap here is %s (%s). Set another with rill_heap = 256K in the project's pytest "
                     "config, or MP_HEAPSIZE = \"256K\" in the test module (on the 32-bit port: "
                     "MP_HEAPSIZE32 and a one-line MP_HEAPSIZE32_WHY).\n" % (heap, why))
        pytest.fail("%s (exit %s):\n%s" % (name, proc.returncode, text), pytrace=False)
