"""Virtual-board hygiene: one board per state folder (a lock, and a second start says
so), a one-line port file and `vboard --port`, no fallback to the host's lib/ unless
asked, and `df` reports the virtual flash, and a signal to `rill vboard` stops its children."""
import os
import signal
import subprocess
import time

import pytest

from test_rill_project import RILL
from tooltest import VBoard, command, run, stop, tool


def test_one_board_per_state_folder(tmp_path):
    a = VBoard(tmp_path / "a", "RPI_PICO", ["--no-host-lib"]).start()
    try:
        with open(a.port_file) as f:
            assert f.read() == a.port + "\n"  # one line: mpremote connect $(cat .vboard/port)
        r = tool("vboard.py", "--state", a.dir, "--port")
        assert r.returncode == 0 and r.stdout == a.port + "\n", r.stderr
        r = run(command("vboard.py") + ["--board", "RPI_PICO_W", "--port-file",
                 a.port_file, "--fs", str(tmp_path / "fs2")], timeout=30)
        assert r.returncode == 1
        assert r.stderr.startswith("rill vboard: error: a virtual board already runs in ")
        assert "RPI_PICO on %s" % a.port in r.stderr and r.stderr.count("\n") == 1
        with open(a.port_file) as f:  # the failed start left the running board's files alone
            assert f.read() == a.port + "\n"
        assert a.mpremote("exec", "print(6*7)").stdout.strip() == "42"
    finally:
        a.stop()
    assert not os.path.exists(a.port_file)
    r = tool("vboard.py", "--state", a.dir, "--port")
    assert r.returncode == 1 and "no virtual board is running" in r.stderr


def test_no_host_lib_unless_asked(tmp_path):
    b = VBoard(tmp_path / "b", "RPI_PICO", host_lib=False).start()  # the default
    try:
        r = b.mpremote("exec", "import rill")
        assert r.returncode == 1 and "no module named 'rill'" in r.stdout
    finally:
        b.stop()
    r = run(command("vboard.py") + ["--help"])
    assert "--host-lib" in r.stdout


def test_df_reports_the_virtual_flash(tmp_path):
    b = VBoard(tmp_path / "c", "RPI_PICO", ["--no-host-lib", "--flash-kb", "848"])
    os.makedirs(b.fs)
    with open(os.path.join(b.fs, "big.bin"), "wb") as f:
        f.write(b"x" * 40000)
    b.start()
    try:
        r = b.mpremote("df")
        assert r.returncode == 0, r.stdout + r.stderr
        rows = [ln.split() for ln in r.stdout.splitlines()]
        assert rows[0] == ["filesystem", "size", "used", "avail", "use%", "mounted", "on"], r.stdout
        flash = [row for row in rows[1:] if row[-1] == "/"]
        assert flash and flash[0][0] == "flash", r.stdout
        size, used, avail = (int(x) for x in flash[0][1:4])
        assert size == 848 * 1024 and used >= 40000 and used + avail == size
    finally:
        b.stop()


def _children(pid):
    """The pids of ``pid``'s children (Linux /proc)."""
    kids = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_rill_vboard_by_pid_stops_its_children(tmp_path, sig):
    """`rill vboard` is the board itself (no tool process beneath it): a signal to its pid
    stops it and the MicroPython agent it started."""
    state, port_file = tmp_path / "state", tmp_path / "state" / "port"
    proc = subprocess.Popen([RILL, "vboard", "--board", "RPI_PICO", "--no-host-lib", "--state", str(state),
                             "--fs", str(tmp_path / "fs")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the virtual board did not start"
            time.sleep(0.1)
        kids = _children(proc.pid)
        assert kids, "no MicroPython agent under rill vboard"
        os.kill(proc.pid, sig)
        assert proc.wait(10) is not None
        deadline = time.monotonic() + 5
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [k for k in kids if _alive(k)], "children left running"
        assert not port_file.exists()
    finally:
        stop(proc)
