"""Every tool answers a wrong command line or a bad situation with one sentence on
stderr and a non-zero exit status, never a traceback."""
import pytest

from tooltest import prog, tool

CASES = [
    ("vboard.py", ["--bogus"]),
    ("vboard.py", ["--board", "NO_SUCH_BOARD"]),
    ("vboard.py", ["--heap", "lots"]),
    ("vboard.py", ["--micropython", "/nonexistent/micropython"]),
    ("run_example.py", ["--seconds", "0"]),
    ("run_example.py", ["--board", "NO_SUCH_BOARD"]),
    ("run_example.py", ["--broker", "rabbit"]),
    ("deploy.py", []),
    ("deploy.py", ["--port", "/dev/nonexistent-tty", "--board", "RPI_PICO"]),
    ("deploy.py", ["--port", "/dev/ttyUSB9"]),
    ("deploy.py", ["--port", "/dev/ttyUSB9", "--board", "RPI_PICO", "--tool", "rshell"]),
    ("flash.py", ["--port", "/dev/ttyUSB0"]),
    ("flash.py", ["--board", "ESP32_GENERIC", "--firmware", "/nonexistent.bin", "--dry-run"]),
    ("flash.py", ["--board", "ESP32_GENERIC", "--firmware", "/dev/null", "--no-verify", "--dry-run"]),
    ("monitor.py", []),
    ("monitor.py", ["--port", "/dev/nonexistent-tty"]),
    ("monitor.py", ["--port", "/dev/null", "--seconds", "-1"]),
]


@pytest.mark.parametrize("name,args", CASES, ids=["%s %s" % (n, " ".join(a)) for n, a in CASES])
def test_one_sentence_and_nonzero_exit(name, args):
    r = tool(name, *args, timeout=60)
    assert r.returncode != 0, r.stdout
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr + r.stdout
    assert err.count("\n") == 0, err  # one line
    assert err.startswith(prog(name) + ": error: "), err  # the command the user typed


MORE = [
    ("build.py", ["--bogus"]),
    ("build.py", ["--board", "RPI_PICO", "--arch", "x64"]),
    ("deps.py", ["--bogus"]),
    ("packages.py", ["--bogus"]),
    ("bench.py", ["--bogus"]),
    ("deploy.py", ["--port", "/dev/ttyUSB9", "--board", "RPI_PICO", "--app", "/nonexistent/app"]),
    ("flash.py", ["--board", "RPI_PICO", "--pin", "/nonexistent.uf2"]),
    ("vboard.py", ["--port", "--state", "/nonexistent/state"]),
    ("firmware.py", ["--target", "esp8266"]),
    ("firmware.py", ["--target", "qemu-cortex-m3", "--app", "/nonexistent/app"]),
    ("firmware.py", ["--target", "unix32", "--micropython-src", "/nonexistent/micropython"]),
]


@pytest.mark.parametrize("name,args", MORE, ids=["%s %s" % (n, " ".join(a)) for n, a in MORE])
def test_more_tools_answer_in_one_sentence(name, args):
    test_one_sentence_and_nonzero_exit(name, args)
