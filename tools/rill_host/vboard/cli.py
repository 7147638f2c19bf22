#!/usr/bin/env python3
"""Virtual board: the firmware running on the host behind a serial port (a pty) that
speaks MicroPython's REPL protocol, so the real mpremote and ampy work against it.

    rill vboard --board RPI_PICO_W      # prints the port, e.g. /dev/pts/7
    mpremote connect $(rill vboard --port) exec "print(1+1)"
    ampy --port $(cat .rill/vboard/port) ls

What runs is real MicroPython: one unix-port process (the agent, rill_host/vboard/vboard_agent.py)
started with the board's heap and restarted by every soft reset; the REPL protocol is
rill_host/vboard/repl.py, the pty and the process rill_host/vboard/proc.py. The port is the
32-bit one when there is one ($RILL_MICROPYTHON32, or ../shared/micropython/micropython32
beside the checkout), else the 64-bit one ($MICROPYTHON, the venv's); --micropython
picks another. The heap is ``heap_budget_kb`` of boards/<BOARD>/board.json times
--heap-scale, by default the port's own (it is asked its ``sys.maxsize``): 1.0 on a
32-bit port, as on the board, 1.5 on a 64-bit one (heap objects are made of machine
words); --heap sets it exactly. The board filesystem is a folder (.rill/vboard/<BOARD>/fs) mounted at ``/``, with
a flash size for ``df`` (--flash-kb). boot.py and main.py run at power-on and soft
reset (main.py only in the friendly REPL, as on a board), and /lib is on sys.path.
Only what was deployed imports: --host-lib adds rill's lib/ and the pinned MicroPython libs
(read-only under /.host) behind /lib, for trying code without deploying it.
rill.board uses its simulated hardware by itself (sys.platform is 'linux');
$RILL_BOARD names the board for the firmware.

One virtual board per state folder (default .rill/vboard, else the folder of --port-file),
held by a lock: a second start there says which board holds it. The folder's ``port``
file is one line, the device path; ``vboard.json`` has the port, board and pid.
Deep sleep: the simulated ``machine.deepsleep(ms)`` (rill.sim.power) ends the firmware
process; the board wakes at once, the virtual clock advanced by ``ms``, into boot.py and
main.py with ``reset_cause() == DEEPSLEEP_RESET`` and the RTC memory kept: the RTC domain
is the file STATE/rtc ($VBOARD_RTC), emptied at power-on (each start of rill vboard).
Wi-Fi: ``--wifi SSID=KEY`` (repeatable) puts a network in the air of the simulated
``network`` module (rill.sim.network, $VBOARD_WIFI): the board's station joins it, its
access point serves on the host's loopback; without it the board has no Wi-Fi model.
Not emulated: machine.reset(), `mpremote mount`, binary sys.stdout.buffer output.
"""
import argparse
import fcntl
import json
import os
import shutil
import signal

from rill_host import BOARDS, DEPS, LIB
from rill_host.common import (
    VBOARD_DIR,
    CliError,
    Parser,
    board_micropython,
    cli,
    heap_scale,
    known_boards,
    load_board,
    running_vboard,
    word_bits,
)
from rill_host.vboard.proc import Board
from rill_host.vboard.repl import AgentGone

DEFAULT_BOARD = "RPI_PICO_W"
DEFAULT_HEAP_KB = 128  # host_tests' default: between an ESP32's free heap and a Pico's
# The filesystem MicroPython v1.25 gives each MCU's usual board (littlefs/FAT partition).
FLASH_KB = {"RP2040": 848, "ESP32": 2048, "ESP32-S3": 6144}


class Stop(Exception):
    pass


def parse_heap(text):
    t = text.strip().upper()
    mult = {"K": 1024, "M": 1 << 20}.get(t[-1:], 1)
    try:
        n = int(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        raise CliError("--heap %r is not a size like 160K or 200000" % text)
    if not 16 * 1024 <= n <= 64 << 20:
        raise CliError("--heap %s is outside 16K..64M" % text)
    return "%dK" % (n // 1024)


def host_folder(board_dir):
    """A folder of links to rill's lib/, the pinned MicroPython libraries and boards/, mounted at /.host."""
    host = os.path.join(board_dir, "host")
    os.makedirs(host, exist_ok=True)
    for name, target in (("lib", LIB), ("deps", DEPS), ("boards", BOARDS)):
        link = os.path.join(host, name)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        tmp = "%s.%d" % (link, os.getpid())  # atomic: another vboard of this board may be starting
        os.symlink(target, tmp)
        os.replace(tmp, link)
    return host


def build_parser():
    p = Parser(prog="rill vboard", description="Run the firmware on a virtual board behind a pty serial port.")
    p.add_argument("--board", default=os.environ.get("RILL_BOARD") or DEFAULT_BOARD,
                   help="board id: boards/<BOARD>/board.json gives heap and name (default %(default)s)")
    p.add_argument("--port", action="store_true", help="print the running board's device path and exit")
    p.add_argument("--state", help="state folder: lock, port and vboard.json (default .rill/vboard)")
    p.add_argument("--fs", help="board filesystem folder (default .rill/vboard/<BOARD>/fs)")
    p.add_argument("--clean", action="store_true", help="empty the board filesystem first")
    p.add_argument("--heap", help="exact heap size, e.g. 240K (default: the board's heap_budget_kb x --heap-scale)")
    p.add_argument("--heap-scale", type=float,
                   help="factor for the board's heap budget (default: 1.0 on a 32-bit port, 1.5 on a 64-bit one)")
    p.add_argument("--flash-kb", type=int, help="the filesystem size df reports (default: the MCU's usual)")
    p.add_argument("--port-file", help="write the port path here (default STATE/port; its folder is the state)")
    p.add_argument("--host-lib", action="store_true", help="also import rill's lib/ and the pinned MicroPython libs")
    p.add_argument("--no-host-lib", action="store_true", help=argparse.SUPPRESS)  # the old default, still accepted
    p.add_argument("--log", help="append everything the board prints to this file")
    p.add_argument("--wifi", action="append", default=[], metavar="SSID=KEY",
                   help="a Wi-Fi network the board can reach (repeatable; KEY empty: an open one)")
    p.add_argument("--micropython", help="MicroPython unix port executable (default: the 32-bit one, "
                   "$RILL_MICROPYTHON32 or ../shared/micropython/micropython32, else $MICROPYTHON or the venv's)")
    return p


def state_paths(args):
    """(state folder, port file) from --state / --port-file."""
    if args.port_file:
        port_file = os.path.abspath(args.port_file)
        return os.path.abspath(args.state) if args.state else os.path.dirname(port_file), port_file
    state = os.path.abspath(args.state or VBOARD_DIR)
    return state, os.path.join(state, "port")


def board_info(args):
    try:
        return load_board(args.board), None
    except CliError:
        if known_boards():
            raise
        return {}, "no boards/%s/board.json yet; using defaults" % args.board


def prepare(args):
    """Check the arguments and set up the folders; return the Board (not started)."""
    args.micropython = board_micropython(args.micropython)
    if not os.path.exists(args.micropython):
        raise CliError("no MicroPython unix port at %s; run 'make setup' or pass --micropython" % args.micropython)
    info, note = board_info(args)
    heap_kb = info.get("heap_budget_kb")
    if not heap_kb:
        heap_kb = DEFAULT_HEAP_KB
        note = note or "boards/%s/board.json has no heap_budget_kb" % args.board
    if args.heap_scale is None:
        args.heap_scale = heap_scale(args.micropython)
    if not 0.5 <= args.heap_scale <= 8:
        raise CliError("--heap-scale %s is outside 0.5..8" % args.heap_scale)
    flash_kb = args.flash_kb or info.get("fs_kb") or FLASH_KB.get(info.get("mcu"), 1024)
    if not 64 <= flash_kb <= 1 << 20:
        raise CliError("--flash-kb %s is outside 64..1048576" % flash_kb)
    heap = parse_heap(args.heap) if args.heap else parse_heap("%dK" % round(heap_kb * args.heap_scale))
    port = "%s-bit MicroPython" % (word_bits(args.micropython) or "?")
    if args.heap:
        heap_why = ", " + port
    elif args.heap_scale == 1:
        heap_why = ": the %dK budget on %s" % (heap_kb, port)
    else:
        heap_why = ": %dK budget x%g on %s" % (heap_kb, args.heap_scale, port)
    if note:
        print("vboard: note: %s (heap %s)" % (note, heap))
    board_dir = os.path.abspath(os.path.join(VBOARD_DIR, args.board))  # the agent runs in the board folder
    fs = os.path.abspath(args.fs or os.path.join(board_dir, "fs"))
    if args.clean and os.path.isdir(fs):
        shutil.rmtree(fs)
    os.makedirs(os.path.join(fs, "lib"), exist_ok=True)
    env = dict(os.environ, MICROPYPATH=".frozen", RILL_BOARD=args.board, VBOARD_FS=fs, VBOARD_FLASH_KB=str(flash_kb))
    for k in ("VBOARD_HOST", "VBOARD_PATH", "VBOARD_RTC", "VBOARD_RTC_DIR"):
        env.pop(k, None)
    nets = {}
    for net in args.wifi:
        ssid, eq, key = net.partition("=")
        if not eq or not 1 <= len(ssid.encode()) <= 32:
            raise CliError("--wifi %r is not SSID=KEY with a name of 1 to 32 bytes" % net)
        nets[ssid] = key
    env.pop("VBOARD_WIFI", None)
    if nets:
        env["VBOARD_WIFI"] = json.dumps(nets)
    if getattr(args, "rtc", None):  # the board sees the state folder at /.rtc (vboard_agent.py)
        env["VBOARD_RTC"] = "/.rtc/" + os.path.basename(args.rtc)
        env["VBOARD_RTC_DIR"] = os.path.dirname(args.rtc)
        if os.path.exists(args.rtc):
            os.remove(args.rtc)  # power-on: the RTC domain starts empty
    if args.host_lib:
        env["VBOARD_HOST"] = host_folder(board_dir)
        env["VBOARD_PATH"] = "/.host/lib:/.host/deps"
    log = open(args.log, "ab") if args.log else None
    machine = info.get("machine") or info.get("name") or args.board
    b = Board(machine, heap, fs, args.micropython, env, log)
    b.heap_why = heap_why
    return b


def shown(path):
    """``path`` relative to the cwd when inside it, else absolute (not ../../work/...)."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def take_lock(state):
    """Hold the state folder's lock for this process's life; CliError naming the holder if taken."""
    os.makedirs(state, exist_ok=True)
    fd = os.open(os.path.join(state, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        held = running_vboard(state)
        who = "%s on %s, pid %s" % (held["board"], held["port"], held["pid"]) if held else "another vboard"
        raise CliError("a virtual board already runs in %s (%s); stop it first, or give this one its own --state"
                       % (shown(state), who))
    return fd


def publish(state, port_file, info):
    """vboard.json, then the port file: each whole or absent (written aside, then renamed),
    so whoever waits for the port file never reads it empty."""
    os.makedirs(os.path.dirname(port_file), exist_ok=True)
    for path, text in ((os.path.join(state, "vboard.json"), json.dumps(info)), (port_file, info["port"] + "\n")):
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def unpublish(state, port_file):
    for path in (port_file, os.path.join(state, "vboard.json")):
        try:
            os.remove(path)
        except OSError:
            pass


def _stop(signum, frame):
    raise Stop()


def main(argv):
    args = build_parser().parse_args(argv)
    state, port_file = state_paths(args)
    if args.port:
        held = running_vboard(state)
        if not held:
            raise CliError("no virtual board is running in %s (start one with 'rill vboard')"
                           % shown(state))
        print(held["port"])
        return 0
    lock = take_lock(state)
    args.rtc = os.path.join(state, "rtc")
    b = prepare(args)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _stop)
    try:
        publish(state, port_file, {"port": b.port, "board": args.board, "pid": os.getpid(), "fs": b.fs,
                                   "heap": b.heap + b.heap_why})
        print("vboard: %s on %s (heap %s%s; fs %s)" % (args.board, b.port, b.heap, b.heap_why, shown(b.fs)))
        print("vboard: try: mpremote connect %s repl   (Ctrl-C here stops the board)" % b.port, flush=True)
        b.serve()
    except Stop:
        pass
    except AgentGone as e:
        raise CliError(str(e))
    finally:
        b.close()
        unpublish(state, port_file)
        os.close(lock)
    print("vboard: stopped")
    return 0


if __name__ == "__main__":
    cli(main, "rill vboard")
