"""Virtual-board hygiene: one board per state folder (a lock, and a second start says
so), a one-line port file and `vboard --port`, no fallback to the host's lib/ unless
asked, and `df` reports the virtual flash."""
import os

from tooltest import VBoard, command, run, tool


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
