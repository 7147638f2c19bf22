"""Helpers for the host tools' tests (CPython only): run the tools and the real clients
(mpremote, ampy) as subprocesses, and run a virtual board (``VBoard``).

Every process started here runs in its own session and is stopped with its whole
process group (``stop``), so a failing test leaves nothing behind.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# the old script names the tests use -> the rill_host module each one now is
MODULES = {"build.py": "rill_host.build.cli", "deploy.py": "rill_host.deploy.cli", "flash.py": "rill_host.deploy.flash",
           "monitor.py": "rill_host.deploy.monitor", "vboard.py": "rill_host.vboard.cli",
           "run_example.py": "rill_host.vboard.run", "read_capture.py": "rill_host.evidence.read",
           "capture_mqtt.py": "rill_host.evidence.capture", "replay_capture.py": "rill_host.evidence.replay",
           "trace.py": "rill_host.evidence.trace", "esphome_filters.py": "rill_host.esphome",
           "packages.py": "rill_host.build.packages", "firmware.py": "rill_host.build.firmware",
           "deps.py": "rill_host.build.deps", "dispatchgen.py": "rill_host.build.dispatchgen",
           "bench.py": "rill_host.bench.cli"}
# the module -> the command a user types, which its messages name
PROGS = {m: "python -m " + m for m in ("rill_host.build.packages", "rill_host.build.deps",
                                       "rill_host.build.dispatchgen")}


def prog(name):
    """What a tool's usage and errors call it: ``rill <sub>`` (``python -m ...`` for the checkout's own)."""
    from rill_host.cli import COMMANDS

    module = MODULES[name]
    return PROGS.get(module) or next("rill " + sub for sub, (mod, _) in COMMANDS.items() if mod == module)


def venv_tool(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.skip("%s is not installed beside %s; run 'make setup'" % (name, sys.executable))
    return path


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(5)
            return
        except subprocess.TimeoutExpired:
            pass


def run(cmd, timeout=30, **kw):
    """Run a command to completion in its own process group; text output in .stdout/.stderr."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=kw.pop("cwd", ROOT), **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        out, err = proc.communicate()
        pytest.fail("timed out after %ss: %s\n%s%s" % (timeout, " ".join(cmd), out, err))
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def command(name):
    """The command line of a tool: ``python -m rill_host...`` (its old script name maps to its module)."""
    return [sys.executable, "-m", MODULES[name]]


def tool(name, *args, timeout=30):
    return run(command(name) + list(args), timeout=timeout)


class VBoard:
    """A running tools/rill_host/vboard/cli.py; ``port`` is its pty, ``fs`` its filesystem folder, ``dir``
    its state folder. It imports the repository's lib/ (--host-lib) unless ``host_lib`` is
    False or ``extra`` has --no-host-lib."""

    def __init__(self, tmp, board="RPI_PICO_W", extra=(), host_lib=True):
        self.dir = str(tmp)
        self.fs = os.path.join(self.dir, "fs")
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "console.log")
        self.out = os.path.join(self.dir, "vboard.out")
        self.board = board
        self.extra = list(extra)
        self.host_lib = host_lib and "--no-host-lib" not in self.extra
        self.proc = None
        self.port = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                command("vboard.py") + ["--board", self.board, "--fs", self.fs,
                 "--port-file", self.port_file, "--log", self.log] + self.extra
                + (["--host-lib"] if self.host_lib else []),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                stop(self.proc)
                with open(self.out) as f:
                    pytest.fail("vboard did not start:\n" + f.read())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = f.read().split()[0]
        return self

    def stop(self):
        stop(self.proc)

    def console(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def mpremote(self, *args, timeout=30, env=None):
        return run([venv_tool("mpremote"), "connect", self.port] + list(args), timeout=timeout, env=env)

    def ampy(self, *args, timeout=30):
        return run([venv_tool("ampy"), "--port", self.port] + list(args), timeout=timeout)


APP = '''\
"""Fixture project: a counter published over MQTT, settings from config.json."""
import asyncio
import json

from rill.mqtt import Bridge

import helpers


def load_config():
    with open("config.json") as f:
        return json.load(f)


async def run():
    cfg = load_config()
    m = cfg["mqtt"]
    mq = Bridge(m["host"], device=cfg["device"], port=m["port"], keepalive=10)
    from rill import Pipeline

    p = Pipeline("counter")
    p.record("n", int)
    p.source("n", helpers.counter(), every_ms=200)
    mq.publish("n", "proj/{device}/n", qos=0)
    mq.attach(p)
    print("proj: running")
    await p.build().run()


def main():
    asyncio.run(run())
'''
HELPERS = '''\
def counter():
    # A user's own import of a pinned micropython-lib package: deploy ships it (tools/rill_host/build/deps.lock).
    from umqtt.simple import MQTTException  # noqa: F401

    box = [0]

    def count():
        box[0] += 1
        return box[0]

    return count
'''


def make_project(tmp_path, port, device="proj-1"):
    """A small project in ``tmp_path/proj``: app.py (a counter over MQTT), helpers.py, tests/
    (never deployed) and config.json pointing at a broker on ``port``."""
    proj = tmp_path / "proj"
    (proj / "tests").mkdir(parents=True)
    (proj / "app.py").write_text(APP)
    (proj / "helpers.py").write_text(HELPERS)
    (proj / "tests" / "test_app.py").write_text("def test_nothing():\n    pass\n")
    (proj / "config.json").write_text(json.dumps({"device": device, "mqtt": {"host": "127.0.0.1", "port": port}}))
    return str(proj)
