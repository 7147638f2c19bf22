"""The virtual board against the real ampy (adafruit-ampy 1.1.0): ls, put, get, run, rm."""
import os


def test_put_ls_get(vboard, tmp_path):
    src = tmp_path / "notes.txt"
    body = bytes(range(256)) * 8  # binary: ampy get hex-encodes on the board
    src.write_bytes(body)
    r = vboard.ampy("put", str(src), "notes.bin")
    assert r.returncode == 0, r.stdout + r.stderr
    assert open(os.path.join(vboard.fs, "notes.bin"), "rb").read() == body
    r = vboard.ampy("ls", "-l")
    assert r.returncode == 0, r.stderr
    assert "/notes.bin - %d bytes" % len(body) in r.stdout
    out = tmp_path / "back.bin"
    r = vboard.ampy("get", "notes.bin", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == body
    r = vboard.ampy("rm", "notes.bin")
    assert r.returncode == 0 and not os.path.exists(os.path.join(vboard.fs, "notes.bin"))


def test_run_and_missing_file(vboard, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("print('hello from', __name__)\n")
    r = vboard.ampy("run", str(script))
    assert r.stdout.strip() == "hello from __main__"
    r = vboard.ampy("get", "nope.txt")
    assert r.returncode != 0
    assert "No such file" in r.stdout + r.stderr
