"""tools/rill_host/deploy/flash.py --dry-run: the esptool and UF2 plans from the board files, and the
sha256 checks that stand between a wrong download and a board."""
import hashlib
import json
import os

from tooltest import ROOT, tool


def _fw(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def _pinned(tmp_path, board, sha):
    with open(os.path.join(ROOT, "boards", board, "board.json")) as f:
        info = json.load(f)
    info["firmware"]["sha256"] = sha
    p = tmp_path / ("%s.json" % board)
    p.write_text(json.dumps(info))
    return str(p)


def test_esp32_plan(tmp_path):
    data = b"\xe9" + os.urandom(4095)
    fw = _fw(tmp_path, "esp32.bin", data)
    board_file = _pinned(tmp_path, "ESP32_GENERIC", hashlib.sha256(data).hexdigest())
    r = tool("flash.py", "--board", "ESP32_GENERIC", "--board-file", board_file, "--port", "/dev/ttyUSB0",
             "--firmware", fw, "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = [ln.split("esptool", 1)[1] for ln in r.stdout.splitlines() if "esptool " in ln]
    assert lines == [" --chip esp32 --port /dev/ttyUSB0 --baud 460800 erase-flash",
                     " --chip esp32 --port /dev/ttyUSB0 --baud 460800 write-flash 0x1000 " + fw]
    assert "matches the sha256" in r.stdout


def test_esp32_s3_offset_and_chip(tmp_path):
    fw = _fw(tmp_path, "s3.bin", b"\xe9" * 64)
    r = tool("flash.py", "--board", "ESP32_GENERIC_S3", "--port", "/dev/ttyACM0", "--firmware", fw,
             "--dry-run", "--no-verify")
    assert r.returncode == 0, r.stderr
    assert "--chip esp32s3 --port /dev/ttyACM0 --baud 460800 write-flash 0x0 " + fw in r.stdout


def test_pico_plan_copies_the_uf2_to_the_drive(tmp_path):
    data = b"UF2\n" + os.urandom(508)
    fw = _fw(tmp_path, "pico.uf2", data)
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\n")
    board_file = _pinned(tmp_path, "RPI_PICO_W", hashlib.sha256(data).hexdigest())
    r = tool("flash.py", "--board", "RPI_PICO_W", "--board-file", board_file, "--firmware", fw,
             "--mount", str(drive), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "flash: copy %s -> %s/" % (fw, drive) in r.stdout
    assert not os.path.exists(drive / "pico.uf2")  # a dry run writes nothing
    r = tool("flash.py", "--board", "RPI_PICO_W", "--board-file", board_file, "--firmware", fw, "--mount", str(drive))
    assert r.returncode == 0, r.stderr
    assert (drive / "pico.uf2").read_bytes() == data


def test_sha_mismatch_is_refused(tmp_path):
    fw = _fw(tmp_path, "esp32.bin", b"\xe9" * 100)
    board_file = _pinned(tmp_path, "ESP32_GENERIC", "0" * 64)
    r = tool("flash.py", "--board", "ESP32_GENERIC", "--board-file", board_file, "--port", "/dev/ttyUSB0",
             "--firmware", fw, "--dry-run")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "refusing to flash esp32.bin" in r.stderr and "0" * 64 in r.stderr


def test_unpinned_firmware_needs_no_verify(tmp_path):
    fw = _fw(tmp_path, "pico.uf2", b"UF2\n" + bytes(508))
    r = tool("flash.py", "--board", "RPI_PICO", "--firmware", fw, "--dry-run")
    assert r.returncode == 1
    assert "pins no sha256" in r.stderr and "--no-verify" in r.stderr


def test_wrong_image_kind_is_refused(tmp_path):
    bin_fw = _fw(tmp_path, "x.bin", b"\xe9" * 600)
    r = tool("flash.py", "--board", "RPI_PICO", "--firmware", bin_fw, "--dry-run", "--no-verify")
    assert r.returncode == 1 and "not a UF2 image" in r.stderr
    uf2 = _fw(tmp_path, "x.uf2", b"UF2\n" + bytes(508))
    r = tool("flash.py", "--board", "ESP32_GENERIC", "--port", "/dev/ttyUSB0", "--firmware", uf2, "--dry-run",
             "--no-verify")
    assert r.returncode == 1 and "UF2 image" in r.stderr


def test_pin_records_the_sha256_and_later_flashes_verify_it(tmp_path):
    with open(os.path.join(ROOT, "boards", "RPI_PICO", "board.json")) as f:
        original = f.read()
    board_file = tmp_path / "board.json"
    board_file.write_text(original)
    name = json.loads(original)["firmware"]["file"]
    data = b"UF2\n" + os.urandom(508)
    image = _fw(tmp_path, "download.uf2", data)
    images = tmp_path / "images"
    common = ["--board", "RPI_PICO", "--board-file", str(board_file), "--firmware-dir", str(images)]
    r = tool("flash.py", *common, "--firmware", image, "--dry-run")
    assert r.returncode == 1 and "pins no sha256" in r.stderr and "--pin" in r.stderr  # unpinned: refused
    r = tool("flash.py", *common, "--pin", image)
    assert r.returncode == 0, r.stderr
    digest = hashlib.sha256(data).hexdigest()
    assert "pinned sha256 %s" % digest in r.stdout
    pinned = board_file.read_text()
    assert pinned == original.replace('"sha256": null', '"sha256": "%s"' % digest)  # nothing else changed
    assert (images / name).read_bytes() == data
    r = tool("flash.py", *common, "--mount", str(tmp_path), "--dry-run")
    assert "matches the sha256 pinned" in r.stdout, r.stdout + r.stderr
    (images / name).write_bytes(data[:-1] + b"!")  # a different image under the pinned name
    r = tool("flash.py", *common, "--dry-run")
    assert r.returncode == 1 and "refusing to flash" in r.stderr
    r = tool("flash.py", *common, "--pin", _fw(tmp_path, "wrong.bin", b"\xe9" * 64))
    assert r.returncode == 1 and "not a UF2 image" in r.stderr
    assert board_file.read_text() == pinned
