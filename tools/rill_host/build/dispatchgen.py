#!/usr/bin/env python3
"""Write an app's fast dispatch on the host: ``rill_dispatch_<pipeline>.py`` (rill.codegen),
for ``rill build --app`` and ``rill deploy`` to compile with mpy-cross for the board.

    python -m rill_host.build.dispatchgen --app DIR --out DIR [--board ID] [--bytecode]

The pipeline is the app's ``pipeline(board, cfg)`` (app.py beside its config.json, as
tools/rill_host/evidence/host_app.py loads it: the board simulated), built here with the reference
dispatch; the module carries the fingerprint of that graph, and the device uses it
only when the graph it builds has the same one (rill.wiring). ``--bytecode`` leaves
out ``@micropython.native`` (a port without the native emitter). An app without
``pipeline(board, cfg)`` gets no module: its graph runs the reference dispatch.
Runs in a process of its own (``stage``), so that the app's import touches nothing else.
"""
import os
import subprocess
import sys
import tempfile
from rill_host.common import ROOT, CliError, Parser, cli

PREFIX = "rill_dispatch_"


def write(app_dir, out, board_id=None, native=True):
    """Write the module(s) of the app in ``app_dir`` into ``out``; their paths."""
    from rill_host.evidence import host_app

    app, bd, cfg = host_app.load(app_dir, board_id)
    if not hasattr(app, "pipeline"):
        return []
    try:
        g = app.pipeline(bd, cfg).build(board=bd, dispatch=False)
    except Exception as e:
        raise CliError("the app's pipeline(board, cfg) does not build: %s: %s" % (type(e).__name__, e))
    from rill import codegen, wiring

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "%s.py" % wiring.module_name(g))
    with open(path, "w") as f:
        codegen.module(g, f, native)
    return [path]


def stage(app_dir, out, board_id=None, native=True):
    """``write`` in a fresh Python process; the paths of the modules written."""
    cmd = [sys.executable, "-m", "rill_host.build.dispatchgen", "--app", app_dir, "--out", out]
    cmd += ["--board", board_id] if board_id else []
    cmd += [] if native else ["--bytecode"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise CliError("generating the app's dispatch failed: %s" % (said[-1] if said else "no output"))
    return [line[len("wrote "):] for line in proc.stdout.splitlines() if line.startswith("wrote ")]


def build(app_dir, out, arch, board_id=None, source=False):
    """The app's module(s) for a board: written and compiled by mpy-cross for ``arch``
    (its native code in the .mpy; ``arch`` None: bytecode, no decorator) into ``out``,
    or with ``source`` the .py itself. [(file name, path)]. An app that cannot be
    loaded on the host gets none, with one line saying so: it runs the reference."""
    from rill_host.build.mpy import compile_file

    if not os.path.isfile(os.path.join(app_dir, "app.py")):
        return []
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rill-dispatch-") as tmp:
        try:
            paths = stage(app_dir, out if source else tmp, board_id, native=arch is not None)
        except CliError as e:
            print("rill: no fast dispatch for %s (%s): it runs the reference dispatch" % (app_dir, e))
            return []
        if source:
            return [(os.path.basename(p), p) for p in paths]
        found = []
        for p in paths:
            name = os.path.basename(p)[:-3] + ".mpy"
            compile_file(os.path.basename(p), os.path.join(out, name), arch, cwd=tmp)  # named as the file it was
            found.append((name, os.path.join(out, name)))
        return found


def main(argv):
    ap = Parser(prog="python -m rill_host.build.dispatchgen", description=__doc__.strip().splitlines()[0])
    ap.add_argument("--app", required=True, help="the app folder (app.py with pipeline(board, cfg))")
    ap.add_argument("--out", required=True, help="where to write rill_dispatch_<pipeline>.py")
    ap.add_argument("--board", help="board id (default: the app's config.json \"board\")")
    ap.add_argument("--bytecode", action="store_true", help="no @micropython.native")
    args = ap.parse_args(argv)
    paths = write(args.app, args.out, args.board, not args.bytecode)
    for p in paths:
        print("wrote " + p)
    if not paths:
        print("dispatchgen: %s has no pipeline(board, cfg): its graph runs the reference dispatch" % args.app)
    return 0


if __name__ == "__main__":
    cli(main, "python -m rill_host.build.dispatchgen")
