#!/usr/bin/env python3
"""Flash MicroPython firmware onto a board, as its board file says.

    rill flash --board ESP32_GENERIC --port /dev/ttyUSB0 [--firmware FILE] [--dry-run]
    rill flash --board RPI_PICO_W [--mount /media/me/RPI-RP2] [--firmware FILE]

boards/<BOARD>/board.json decides how (``flash.method``):

- ``esptool`` (ESP32 family): ``esptool --chip <chip> --port P --baud B erase-flash``
  (when ``erase_first``), then ``write-flash <offset> FILE``;
- ``uf2`` (RP2040): copy the .uf2 onto the bootloader's mass-storage drive (``volume``,
  e.g. RPI-RP2, found under /media, /run/media or /mnt, or given with --mount): hold
  BOOTSEL while plugging the board in.

The firmware file defaults to build/firmware/<firmware.file>. Its sha256 must match
``firmware.sha256`` in the board file; a board file that pins none makes the tool
refuse unless --no-verify. --dry-run checks everything and prints the commands
without touching the board.

Pinning: download the official image (``firmware.url``), check it as its site says,
then ``flash.py --pin IMAGE --board B`` records its sha256 in boards/B/board.json
(only that field changes) and copies it to build/firmware/; every later flash of B
verifies the image against the pin.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess

from rill_host.common import BOARDS, CliError, Parser, cli, load_board, need_tool, sha256_file, tool

UF2_MAGIC = b"UF2\n"
MOUNT_ROOTS = ("/media/*/%s", "/media/%s", "/run/media/*/%s", "/mnt/%s")


def parse_args(argv):
    p = Parser(prog="rill flash", description="Flash MicroPython firmware as boards/<BOARD>/board.json says.")
    p.add_argument("--board", required=True, help="board id under boards/")
    p.add_argument("--board-file", help="read this board.json instead of boards/<BOARD>/board.json")
    p.add_argument("--port", help="serial port (esptool boards)")
    p.add_argument("--firmware", help="firmware file (default build/firmware/<firmware.file of the board file>)")
    p.add_argument("--mount", help="the bootloader drive's mount point (uf2 boards; default: searched)")
    p.add_argument("--baud", type=int, help="esptool baud rate (default: the board file's, else 460800)")
    p.add_argument("--no-verify", action="store_true", help="flash without a sha256 match (unpinned firmware)")
    p.add_argument("--pin", metavar="IMAGE", help="record IMAGE's sha256 in the board file (flashes nothing)")
    p.add_argument("--firmware-dir", default=os.path.join("build", "firmware"),
                   help="where images are kept (default build/firmware in the current folder)")
    p.add_argument("--dry-run", action="store_true", help="check and print the commands; touch nothing")
    return p.parse_args(argv)


def read_board(args):
    if not args.board_file:
        return load_board(args.board), os.path.join(BOARDS, args.board, "board.json")
    try:
        with open(args.board_file) as f:
            return json.load(f), args.board_file
    except (OSError, ValueError) as e:
        raise CliError("cannot read board file %s (%s)" % (args.board_file, e))


def firmware_file(args, fw):
    path = args.firmware
    if not path:
        if not fw.get("file"):
            raise CliError("the board file names no firmware file; pass --firmware")
        path = os.path.join(args.firmware_dir, fw["file"])
        if not os.path.exists(path):
            raise CliError("no firmware file %s: download %s there, or pass --firmware"
                           % (path, fw.get("url") or fw["file"]))
    if not os.path.isfile(path):
        raise CliError("no firmware file %s" % path)
    return path


def verify(args, path, fw, where):
    want = (fw.get("sha256") or "").lower()
    if args.no_verify:
        print("flash: warning: not verifying %s (--no-verify)" % os.path.basename(path))
        return
    if not want:
        raise CliError("%s pins no sha256 for its firmware, so %s cannot be verified; check the download, then "
                       "pin it with 'flash.py --pin %s --board %s' (or pass --no-verify)"
                       % (where, os.path.basename(path), os.path.relpath(path), args.board))
    got = sha256_file(path)
    if got != want:
        raise CliError("refusing to flash %s: its sha256 is %s but %s pins %s (wrong or corrupted download?)"
                       % (os.path.basename(path), got, where, want))
    print("flash: %s matches the sha256 pinned in %s" % (os.path.basename(path), where))


def esptool_commands(args, info, path):
    spec = info["flash"]
    if not args.port:
        raise CliError("--port is needed to flash %s with esptool" % args.board)
    if not spec.get("chip") or not spec.get("offset"):
        raise CliError("the board file's flash section needs chip and offset for esptool")
    check_image(path, "esptool", args.board)
    exe = tool("esptool") or "esptool"
    base = [exe, "--chip", spec["chip"], "--port", args.port, "--baud", str(args.baud or spec.get("baud", 460800))]
    cmds = [base + ["erase-flash"]] if spec.get("erase_first", True) else []
    return cmds + [base + ["write-flash", spec["offset"], path]]


def find_mount(volume):
    for pattern in MOUNT_ROOTS:
        for d in sorted(glob.glob(pattern % volume)):
            if os.path.isdir(d):
                return d
    return None


def uf2_target(args, info, path):
    volume = info["flash"].get("volume", "RPI-RP2")
    check_image(path, "uf2", args.board)
    mount = args.mount or find_mount(volume)
    if mount and not os.path.isdir(mount):
        raise CliError("--mount %s is not a directory" % mount)
    if mount and not os.path.exists(os.path.join(mount, "INFO_UF2.TXT")):
        raise CliError("%s has no INFO_UF2.TXT, so it is not a UF2 bootloader drive" % mount)
    if not mount and not args.dry_run:
        raise CliError("no %s drive is mounted: hold BOOTSEL while plugging the board in (or pass --mount)" % volume)
    return mount or "<%s drive>" % volume


def check_image(path, method, board):
    with open(path, "rb") as f:
        uf2 = f.read(4) == UF2_MAGIC
    if method == "uf2" and not uf2:
        raise CliError("%s is not a UF2 image, which %s needs" % (os.path.basename(path), board))
    if method == "esptool" and uf2:
        raise CliError("%s is a UF2 image, but %s is flashed with esptool (.bin)" % (os.path.basename(path), board))


def pin(args, info, method, where):
    """Write IMAGE's sha256 into the board file's firmware section; nothing else changes."""
    path = os.path.abspath(args.pin)
    if not os.path.isfile(path):
        raise CliError("no firmware image %s" % args.pin)
    check_image(path, method, args.board)
    digest = sha256_file(path)
    board_file = args.board_file or where
    with open(board_file) as f:
        text = f.read()
    m = re.search(r'"firmware"\s*:\s*\{[^{}]*?"sha256"\s*:\s*(null|"[0-9a-fA-F]*")', text)
    if not m:
        raise CliError("%s has no firmware.sha256 field to pin" % where)
    old = json.loads(m.group(1))
    text = text[: m.start(1)] + '"%s"' % digest + text[m.end(1):]
    with open(board_file, "w") as f:
        f.write(text)
    fw = info.get("firmware") or {}
    name = fw.get("file") or os.path.basename(path)
    if os.path.basename(path) != name:
        print("flash: note: %s is not named %s as the board file expects; check it is the right image"
              % (os.path.basename(path), name))
    dest = os.path.join(args.firmware_dir, name)
    if os.path.abspath(dest) != path:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(path, dest)
    print("flash: pinned sha256 %s in %s%s; the image is %s" % (
        digest, where, " (was %s)" % old if old and old != digest else "", os.path.relpath(dest)))
    return 0


def main(argv):
    args = parse_args(argv)
    info, where = read_board(args)
    spec = info.get("flash") or {}
    method = spec.get("method")
    if method not in ("esptool", "uf2"):
        raise CliError("%s has flash method %r; this tool knows esptool and uf2" % (where, method))
    if args.pin:
        return pin(args, info, method, where)
    fw = info.get("firmware") or {}
    path = os.path.abspath(firmware_file(args, fw))
    verify(args, path, fw, where)
    if method == "esptool":
        cmds = esptool_commands(args, info, path)
        for cmd in cmds:
            print("flash: " + shlex.join(cmd), flush=True)
            if args.dry_run:
                continue
            need_tool("esptool")
            if subprocess.run(cmd).returncode:
                raise CliError("esptool %s failed (see its output above)" % cmd[7])
    else:
        mount = uf2_target(args, info, path)
        print("flash: copy %s -> %s/ (the board reboots into MicroPython when the copy ends)"
              % (shlex.quote(path), mount), flush=True)
        if not args.dry_run:
            shutil.copyfile(path, os.path.join(mount, os.path.basename(path)))
            os.sync()
    if args.dry_run:
        print("flash: dry run: nothing was written")
    else:
        print("flash: done; next: rill deploy --app . --port <PORT> --board %s" % args.board)
    return 0


if __name__ == "__main__":
    cli(main, "rill flash")
