"""``rill build``: compile rill (and an app) to .mpy for a board (the steps: rill_host.build.mpy).

    rill build [--board RPI_PICO | --arch x64] [--out DIR] [--deps] [--app DIR] [mpy-cross flags: -O2]
"""
import os

from rill_host.build import identity as build_identity
from rill_host.build.dispatchgen import build as dispatch
from rill_host.build.heap_budget import report
from rill_host.build.mpy import ARCHES, OUT, PASS_THROUGH, board_arch, build_mpy
from rill_host.common import ROOT, Parser, cli, load_board
from rill_host.deploy.plan import App


def parse(argv):
    ap = Parser(prog="rill build", description="Compile lib/rill to .mpy with mpy-cross.")
    ap.add_argument("--board", help="board id under boards/ (sets the architecture)")
    ap.add_argument("--arch", choices=ARCHES, metavar="ARCH",
                    help="mpy-cross -march value, one of %s (default: x64, the unix port)" % ", ".join(ARCHES))
    ap.add_argument("--out", default=OUT, help="output folder (default: build/mpy)")
    ap.add_argument("--deps", action="store_true", help="also compile the pinned dependencies (umqtt.simple)")
    ap.add_argument("--app", help="an app folder or module, hashed into build.json with its config.json; a folder's "
                    "pipeline(board, cfg) also gets its dispatch module")
    args, flags = ap.parse_known_args(argv)
    bad = [f for f in flags if not f.startswith(PASS_THROUGH)]
    if bad:
        ap.error("unrecognized arguments: %s (mpy-cross flags pass through: %s...)"
                 % (" ".join(bad), ", ".join(PASS_THROUGH)))
    if args.board and args.arch:
        ap.error("give --board or --arch, not both")
    args.arch = board_arch(args.board) if args.board else (args.arch or "x64")
    return args, flags


def write_identity(args):
    """build.json beside the build: lib, the app and its config, arch, the board's firmware."""
    modules = config = None
    if args.app:
        app = App(args.app)
        modules, config = app.modules, app.config
    firmware = load_board(args.board).get("firmware", {}).get("version") if args.board else None
    ident = build_identity.identity(modules, config, args.arch, firmware)
    return build_identity.write(os.path.join(args.out, "build.json"), ident)


def main(argv):
    args, flags = parse(argv)
    count = build_mpy(args.out, args.arch, flags, deps=args.deps)
    print("build: compiled %d module(s) for %s into %s" % (count, args.arch, os.path.relpath(args.out, ROOT)))
    if args.app and os.path.isdir(args.app):  # the app's fast dispatch (build/dispatchgen.py)
        for name, _ in dispatch(os.path.abspath(args.app), args.out, args.arch, args.board):
            print("build: the app's dispatch in %s" % os.path.relpath(os.path.join(args.out, name), ROOT))
    print("build: identity in %s" % os.path.relpath(write_identity(args), ROOT))
    if args.app and args.board:
        print(report(App(args.app), args.board))
    return 0


if __name__ == "__main__":
    cli(main, "rill build")
