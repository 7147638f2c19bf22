#!/usr/bin/env python3
"""Deploy an app onto a board over its serial port: rill for the board's architecture,
the app, its config and board file, and the pinned dependencies; only what changed.

    rill deploy --port /dev/ttyACM0 --board RPI_PICO_W [--app DIR_OR_MODULE] [--tool ampy]
    rill deploy --port vboard                    # the running virtual board

The app defaults to the example, firmware/. What goes where is tools/rill_host/deploy/plan.py:
the rill packages the app imports (compiled to .mpy for the architecture the board
reports, ``sys.implementation._mpy``; --source ships .py), umqtt.simple as pinned in
tools/rill_host/build/deps.lock, the app's modules, boot.py/main.py, config.json,
/boards/<BOARD>/board.json and /build.json (the build's identity, with the firmware
version the board reports: rill_host/build/identity.py). First the board is asked who it is and the sha256 of every
file the plan would write: a board that is not --board is refused; files that already
match are skipped, stale rill modules and shadowing .py/.mpy twins are removed, and a
size report says what was uploaded. The copies are made by the real mpremote (default)
or ampy (slow: it soft-resets the board for every file). main.py starts the app at
the board's next reset. Errors: one sentence, exit status 1.
"""
import argparse
import os
import subprocess
import tempfile

from rill_host.build.heap_budget import report as heap_report
from rill_host.build.mpy import ARCHES
from rill_host.common import ROOT, CliError, Parser, cli, load_board, need_tool, resolve_port, vboard_board
from rill_host.deploy.plan import FIRMWARE, App, hashes, plan, twins

# sys.implementation._mpy bits 10..13 -> mpy-cross -march (py/persistentcode.h MP_NATIVE_ARCH_*)
MPY_ARCH = [None] + ARCHES
MANAGED = "/lib/rill"  # a folder deploy owns: files in it that are not in the plan are removed
ASK = """import os, sys
try:
    import hashlib, binascii
except ImportError:
    hashlib = None
def h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return '-'
    if hashlib is None:
        f.close()
        return '?'
    d = hashlib.sha256()
    while True:
        b = f.read(512)
        if not b:
            break
        d.update(b)
    f.close()
    return binascii.hexlify(d.digest()).decode()
def walk(p):
    try:
        es = list(os.ilistdir(p))
    except OSError:
        return
    for e in es:
        q = p + '/' + e[0]
        if e[1] & 0x4000:
            walk(q)
        else:
            print('F', h(q), q)
print('MPY', getattr(sys.implementation, '_mpy', 0))
print('MACHINE', getattr(sys.implementation, '_machine', ''))
print('VERSION', '.'.join(str(x) for x in sys.implementation.version[:3]))
print('BOARD', os.getenv('RILL_BOARD') if hasattr(os, 'getenv') else '')
for p in %r:
    print('F', h(p), p)
walk(%r)
"""
PREP = """import os
def mk(p):
    try:
        os.mkdir(p)
    except OSError:
        pass
for p in %r:
    mk(p)
for p in %r:
    try:
        os.remove(p)
    except OSError:
        pass
"""


def parse_args(argv):
    p = Parser(prog="rill deploy", description="Deploy an app, rill and its dependencies onto a MicroPython board.")
    p.add_argument("--port", required=True, help="serial port, or 'vboard' for the running virtual board")
    p.add_argument("--board", help="board id under boards/ (default for a virtual board: the one it runs)")
    p.add_argument("--app", default=FIRMWARE, help="the app: a folder or a .py module (default: rill's example app)")
    p.add_argument("--config", help="config.json to upload (default: the app folder's config.json)")
    p.add_argument("--source", action="store_true", help="ship .py sources instead of .mpy")
    p.add_argument("--mpy", action="store_true", help=argparse.SUPPRESS)  # the old switch: .mpy is the default
    p.add_argument("--arch", choices=ARCHES, metavar="ARCH", help="mpy-cross -march (default: what the board reports)")
    p.add_argument("--tool", choices=("mpremote", "ampy"), default="mpremote", help="copy with (default %(default)s)")
    p.add_argument("--umqtt", choices=("copy", "mip", "skip"), default="copy",
                   help="umqtt.simple: copy the pinned version (default), mip-install that version, or skip")
    p.add_argument("--ota", metavar="DEVICE", help="provision OTA updates and safe mode (rill ota) for device id "
                   "DEVICE: its key (kept in <app>/.rill/ota/DEVICE.key), rill.ota, and this build as the active one")
    p.add_argument("--ota-conf", nargs=4, type=int, metavar=("K", "TRIES", "GOOD_S", "SAFE_S"),
                   help="safe mode after K failed boots; TRIES boots for a new build; healthy after GOOD_S s; "
                   "SAFE_S s in safe mode (default 10 1 60 300)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the commands, change nothing")
    args = p.parse_args(argv)
    if args.ota_conf and not args.ota:
        p.error("--ota-conf needs --ota DEVICE")
    return args


def run(cmd, what, timeout=600):
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CliError("%s did not finish within %d s" % (what, timeout))
    if r.returncode:
        said = [ln for ln in r.stdout.strip().splitlines() if ln.strip()]
        raise CliError("%s failed (status %d): %s" % (what, r.returncode, said[-1] if said else "no output"))
    return r.stdout


def on_board(args, port, script, tmp, what):
    """Run a script on the board with the chosen client; its output."""
    if args.tool == "mpremote":
        return run([need_tool("mpremote"), "connect", port, "exec", script], what)
    path = os.path.join(tmp, "_script.py")
    with open(path, "w") as f:
        f.write(script)
    return run([need_tool("ampy"), "--port", port, "run", path], what)


def ask(args, port, paths, tmp):
    """The board's identity and files: {"arch", "machine", "board", "firmware", "files": {path: sha256 or '-'}}."""
    out = on_board(args, port, ASK % (sorted(paths), MANAGED), tmp, "asking the board on %s" % port)
    found = {"arch": None, "machine": "", "board": "", "firmware": None, "files": {}}
    for line in out.splitlines():
        key, _, rest = line.strip().partition(" ")
        if key == "MPY" and rest.isdigit():
            code = (int(rest) >> 10) & 0x0F
            found["arch"] = MPY_ARCH[code] if code < len(MPY_ARCH) else None
        elif key == "VERSION":
            found["firmware"] = rest or None
        elif key in ("MACHINE", "BOARD"):
            found[key.lower()] = "" if rest == "None" else rest
        elif key == "F" and " " in rest:
            digest, path = rest.split(" ", 1)
            found["files"][path] = digest
    if "MPY" not in out:
        said = (out.strip().splitlines() or ["no answer"])[-1]
        raise CliError("could not ask the board on %s who it is: %s" % (port, said))
    return found


def check_board(board, info, found, port):
    """Refuse a board that is not ``board``, in one sentence."""
    if found["board"]:  # a virtual board says which board it runs
        if found["board"] != board:
            raise CliError("refusing to deploy for %s: the virtual board on %s runs %s (pass --board %s, or start "
                           "a %s board)" % (board, port, found["board"], found["board"], board))
    elif found["machine"] and info.get("machine") and found["machine"] != info["machine"]:
        raise CliError("refusing to deploy for %s: the board on %s is a %r, not a %r (pass the right --board)"
                       % (board, port, found["machine"], info["machine"]))


def size_report(items, changed, removed):
    groups = {}
    for remote, local, group in items:
        g = groups.setdefault(group, [0, 0, 0, 0])
        size = os.path.getsize(local)
        g[0] += 1
        g[1] += size
        if remote in changed:
            g[2] += 1
            g[3] += size
    parts = ["%s %d files %d B (%d sent)" % (name, g[0], g[1], g[2]) for name, g in sorted(groups.items())]
    sent = sum(g[3] for g in groups.values())
    total = sum(g[1] for g in groups.values())
    return ("deploy: uploaded %d of %d files, %d of %d bytes; removed %d; %s"
            % (len(changed), len(items), sent, total, len(removed), "; ".join(parts)))


def upload_commands(args, port, items, changed, removed, tmp):
    local = {remote: path for remote, path, _ in items}
    prep = PREP % (folders(changed), removed)
    if not changed and not removed:
        return []
    if args.tool == "mpremote":
        cmd = [need_tool("mpremote"), "connect", port, "exec", prep]
        for remote in changed:
            cmd += ["+", "fs", "cp", local[remote], ":" + remote]
        return [cmd]
    script = os.path.join(tmp, "_prep.py")
    with open(script, "w") as f:
        f.write(prep)
    ampy = [need_tool("ampy"), "--port", port]
    return [ampy + ["run", script]] + [ampy + ["put", local[r], r] for r in changed]


def folders(paths):
    """Every folder the board paths need, parents first: ['/lib', '/lib/rill', ...]."""
    found = set()
    for p in paths:
        parts = p.strip("/").split("/")[:-1]
        found |= {"/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return sorted(found, key=lambda d: (d.count("/"), d))


def main(argv):
    args = parse_args(argv)
    port = resolve_port(args.port)
    args.board = args.board or vboard_board(port)
    if not args.board:
        raise CliError("--board is needed for a real board (its board file goes to /boards/<BOARD>/board.json)")
    info = load_board(args.board)
    if args.config and not os.path.isfile(args.config):
        raise CliError("no config file %s" % args.config)
    app = App(args.app)
    if not args.dry_run and not os.path.exists(port):
        raise CliError("no serial port %s (is the board plugged in, or the virtual board running?)" % port)
    with tempfile.TemporaryDirectory(prefix="rill-deploy-") as tmp:
        guess = plan(app, args.board, "x64", source=True, config=args.config, deps=args.umqtt == "copy")
        candidates = {r for r, _, _ in guess} | set(twins(guess))
        candidates |= {r[:-3] + ".mpy" for r in candidates if r.endswith(".py")}
        if args.dry_run:
            found = {"arch": args.arch or info.get("mpy", {}).get("march"), "files": {}, "board": "", "machine": "",
                     "firmware": info.get("firmware", {}).get("version")}
        else:
            found = ask(args, port, candidates, tmp)
            check_board(args.board, info, found, port)
        arch = args.arch or found["arch"]
        if not arch and not args.source:
            raise CliError("the board did not say its architecture: pass --arch, or --source")
        items = plan(app, args.board, arch or "x64", args.source, args.config, deps=args.umqtt == "copy",
                     firmware=found["firmware"], ota=bool(args.ota))
        if args.ota:
            from rill_host.deploy import ota

            out = os.path.join(ROOT, "build", "deploy", "ota", args.ota)  # kept: the size report reads them after
            items += ota.provision(app.root, args.ota, out, args.ota_conf or ota.CONF)
        want = hashes(items)
        changed = sorted(r for r in want if found["files"].get(r) != want[r])
        planned = set(want)
        removed = sorted(p for p, h in found["files"].items() if h != "-" and p not in planned
                         and (p.startswith(MANAGED + "/") or p in twins(items)))
        print("deploy: %s for %s (%s) from %s" % ("dry run" if args.dry_run else "deploying", args.board,
                                                  "source" if args.source else arch, os.path.relpath(app.root)))
        print(heap_report(app, args.board), flush=True)  # before anything ships: a warning if it will not fit
        for cmd in upload_commands(args, port, items, changed, removed, tmp):
            print("deploy: " + " ".join(_shown(c) for c in cmd), flush=True)
            if not args.dry_run:
                run(cmd, os.path.basename(cmd[0]))
        if args.umqtt == "mip" and not args.dry_run:
            version = _pinned_umqtt()
            run([need_tool("mpremote"), "connect", port, "mip", "install", "umqtt.simple@" + version], "mip")
    print(size_report(items, set(changed), removed))
    if not args.dry_run:
        print("deploy: main.py starts the app at the next reset (Ctrl-D in `mpremote connect %s repl`)" % port)
    return 0


def _shown(arg):
    if "\n" in arg:
        return "'<make folders, remove stale files>'"
    if not (os.path.isabs(arg) and os.path.exists(arg)):
        return arg
    rel = os.path.relpath(arg)
    return arg if rel.startswith("..") else rel  # /dev/pts/3, not ../../dev/pts/3


def _pinned_umqtt():
    from rill_host.build.deps import locked

    return next(p["version"] for p in locked() if p["name"].endswith("umqtt.simple"))


if __name__ == "__main__":
    cli(main, "rill deploy")
