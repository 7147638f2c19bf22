#!/usr/bin/env python3
"""Copy the library and the firmware onto a board over its serial port.

    python tools/deploy.py --port /dev/ttyACM0 --board RPI_PICO_W [--mpy] [--tool mpremote|ampy]
    python tools/deploy.py --port vboard --mpy          # the running virtual board

What lands on the board (the layout tools/run_example.py gives the virtual board):

    /lib/rill/...            lib/rill as .py, or as .mpy with --mpy (tools/build.py, for
                             the architecture the board reports: sys.implementation._mpy;
                             --arch overrides, a dry run uses board.json's mpy.march)
    /lib/umqtt/simple.py     the pinned copy from .deps/micropython (--umqtt copy, the
                             default); --umqtt mip installs it with `mpremote mip` (the host
                             needs internet); --umqtt skip leaves it to you
    /boards/<BOARD>/board.json   read by rill.board on the device
    /boot.py /main.py        firmware/, always source; app.py too (app.mpy with --mpy)
    /config.json             from --config FILE, if given

The old /lib/rill and app are removed first, so no stale .py shadows a new .mpy. The
copies are made by the real mpremote (default, a few seconds) or ampy (slow: it
soft-resets the board for every file, a minute or two); main.py starts the app at the
board's next reset. ``--package-json`` rewrites firmware/package.json, the mip package
(``mpremote mip install firmware/package.json``). Errors: one sentence, exit status 1.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, CliError, Parser, cli, load_board, need_tool, resolve_port, vboard_board  # noqa: E402

FIRMWARE = os.path.join(ROOT, "firmware")
UMQTT = os.path.join(ROOT, ".deps", "micropython", "umqtt", "simple.py")
# sys.implementation._mpy bits 10..13 -> mpy-cross -march (py/persistentcode.h MP_NATIVE_ARCH_*)
ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
         "xtensawin", "rv32imc", "rv64imc"]
ASK_ARCH = "import sys\nprint('MPY', getattr(sys.implementation, '_mpy', 0))\n"
CLEAN = """import os
def rm(p):
    try:
        st = os.stat(p)
    except OSError:
        return
    if st[0] & 0x4000:
        for e in list(os.ilistdir(p)):
            rm(p + '/' + e[0])
        os.rmdir(p)
    else:
        os.remove(p)
for p in ('lib/rill', 'app.py', 'app.mpy'):
    rm(p)
"""


def parse_args(argv):
    p = Parser(prog="deploy.py", description="Copy lib/rill and firmware/ onto a MicroPython board.")
    p.add_argument("--port", help="serial port, or 'vboard' for the running virtual board")
    p.add_argument("--board", help="board id under boards/: its board file, and the .mpy architecture "
                                   "(default for the virtual board: the one it runs)")
    p.add_argument("--mpy", action="store_true", help="compile to .mpy first (smaller, less RAM at import)")
    p.add_argument("--arch", help="mpy-cross -march (default: the board's mpy.march, x64 for the virtual board)")
    p.add_argument("--tool", choices=("mpremote", "ampy"), default="mpremote", help="copy with (default %(default)s)")
    p.add_argument("--umqtt", choices=("copy", "mip", "skip"), default="copy",
                   help="how umqtt.simple gets there (default: copy the pinned .deps version)")
    p.add_argument("--config", help="a config.json for firmware/app.py to upload")
    p.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    p.add_argument("--package-json", action="store_true",
                   help="only rewrite firmware/package.json (the mip package: lib/rill's device files)")
    args = p.parse_args(argv)
    if not args.port and not args.package_json:
        p.error("the following arguments are required: --port")
    return args


def device_files():
    """lib/rill's files a board needs (not the CPython shim nor the simulated hardware),
    relative to lib/: the list tools/build.py compiles for a board."""
    from build import sources

    return [rel.replace(os.sep, "/") for rel in sources("armv6m")]


def package_json():
    """The mip package: ``mpremote mip install firmware/package.json`` (or github:OWNER/REPO/firmware/package.json)."""
    return {"urls": [[f, "../lib/" + f] for f in device_files()], "deps": [["umqtt.simple", "latest"]],
            "version": lib_version()}


def lib_version():
    """rill.__version__, read from the source (no import: it must not run on the host)."""
    with open(os.path.join(ROOT, "lib", "rill", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    return "0.0.0"


def _source_stamp(arch):
    """What a build depends on: the architecture and every source file's path, size and mtime."""
    files = [os.path.join(ROOT, "tools", "build.py")]
    for dirpath, dirnames, names in os.walk(os.path.join(ROOT, "lib", "rill")):
        dirnames.sort()
        files += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith(".py")]
    h = hashlib.sha256(arch.encode())
    for path in files:
        st = os.stat(path)
        h.update(("%s %d %d\n" % (path, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()


def build(out, arch):
    """tools/build.py into ``out``, skipped when ``out`` holds a build of the same sources."""
    stamp = os.path.join(out, ".stamp")
    want = _source_stamp(arch)
    try:
        with open(stamp) as f:
            if f.read() == want:
                return
    except OSError:
        pass
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "--arch", arch, "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        raise CliError("tools/build.py failed: %s" % (r.stdout.strip().splitlines() or ["?"])[-1])
    with open(stamp, "w") as f:
        f.write(want)


def board_arch(args, port, tmp):
    """The architecture the board itself reports (its .mpy must match it), else None."""
    if args.tool == "mpremote":
        cmd = [need_tool("mpremote"), "connect", port, "exec", ASK_ARCH]
    else:
        script = os.path.join(tmp, "_arch.py")
        with open(script, "w") as f:
            f.write(ASK_ARCH)
        cmd = [need_tool("ampy"), "--port", port, "run", script]
    try:
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60).stdout
    except subprocess.TimeoutExpired:
        raise CliError("the board on %s did not answer within 60 s" % port)
    for line in out.splitlines():
        if line.startswith("MPY "):
            code = (int(line.split()[1]) >> 10) & 0x0F
            return ARCHS[code] if code < len(ARCHS) else None
    raise CliError("could not ask the board on %s for its architecture: %s"
                   % (port, (out.strip().splitlines() or ["no answer"])[-1]))


def stage(dest, board, mpy=False, arch=None, umqtt="copy", config=None, build_dir=None):
    """Lay out the board's file tree in the empty folder ``dest``; return its top-level
    entries. tools/run_example.py stages straight into the virtual board's filesystem."""
    os.makedirs(os.path.join(dest, "lib"), exist_ok=True)
    if mpy:
        out = build_dir or os.path.join(dest, "_mpy")
        build(out, arch)
        shutil.copytree(os.path.join(out, "rill"), os.path.join(dest, "lib", "rill"))
        mpy_cross = need_tool("mpy-cross", "compiles app.py")
        r = subprocess.run([mpy_cross, "-march=" + arch, "-o", os.path.join(dest, "app.mpy"), "app.py"], cwd=FIRMWARE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            raise CliError("mpy-cross failed on firmware/app.py: %s" % r.stdout.strip())
    else:
        shutil.copytree(os.path.join(ROOT, "lib", "rill"), os.path.join(dest, "lib", "rill"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "cpython_compat.py"))
        shutil.copy(os.path.join(FIRMWARE, "app.py"), dest)
    for name in ("boot.py", "main.py"):
        shutil.copy(os.path.join(FIRMWARE, name), dest)
    if umqtt == "copy":
        if not os.path.exists(UMQTT):
            raise CliError("no pinned umqtt.simple in .deps/micropython; run 'make setup' or use --umqtt mip")
        os.makedirs(os.path.join(dest, "lib", "umqtt"), exist_ok=True)
        shutil.copy(UMQTT, os.path.join(dest, "lib", "umqtt"))
    os.makedirs(os.path.join(dest, "boards", board), exist_ok=True)
    shutil.copy(os.path.join(ROOT, "boards", board, "board.json"), os.path.join(dest, "boards", board))
    if config:
        shutil.copy(config, os.path.join(dest, "config.json"))
    return sorted(e for e in os.listdir(dest) if not e.startswith("_"))


def commands(args, port, tmp, entries):
    """The client invocations that copy ``entries`` of ``tmp`` to the board."""
    dirs = [e for e in entries if os.path.isdir(os.path.join(tmp, e))]
    files = [os.path.join(tmp, e) for e in entries if e not in dirs]
    if args.tool == "mpremote":
        cmd = [need_tool("mpremote"), "connect", port, "exec", CLEAN]
        for d in dirs:
            cmd += ["+", "fs", "cp", "-r", os.path.join(tmp, d), ":"]
        cmd += ["+", "fs", "cp"] + files + [":"]
        cmds = [cmd]
        if args.umqtt == "mip":
            cmds.append([need_tool("mpremote"), "connect", port, "mip", "install", "umqtt.simple"])
        return cmds
    ampy = [need_tool("ampy"), "--port", port]
    clean = os.path.join(tmp, "_clean.py")
    with open(clean, "w") as f:
        f.write(CLEAN)
    cmds = [ampy + ["run", clean]]
    for d in dirs:
        cmds.append(ampy + ["put", os.path.join(tmp, d), "/" + d])
    for f in files:
        cmds.append(ampy + ["put", f, "/" + os.path.basename(f)])
    return cmds


def main(argv):
    args = parse_args(argv)
    if args.package_json:
        path = os.path.join(FIRMWARE, "package.json")
        pkg = package_json()
        with open(path, "w") as f:  # one file per line: readable diffs
            f.write('{\n  "urls": [\n    %s\n  ],\n' % ",\n    ".join(json.dumps(u) for u in pkg["urls"]))
            f.write('  "deps": %s,\n  "version": %s\n}\n' % (json.dumps(pkg["deps"]), json.dumps(pkg["version"])))
        print("deploy: wrote %s (%d files)" % (os.path.relpath(path, ROOT), len(device_files())))
        return 0
    port = resolve_port(args.port)
    vboard = vboard_board(port)
    args.board = args.board or vboard
    if not args.board:
        raise CliError("--board is needed for a real board (its board file goes to /boards/<BOARD>/board.json)")
    info = load_board(args.board)
    if args.config and not os.path.isfile(args.config):
        raise CliError("no config file %s" % args.config)
    if not args.dry_run and not os.path.exists(port):
        raise CliError("no serial port %s (is the board plugged in, or the virtual board running?)" % port)
    tmp = tempfile.mkdtemp(prefix="rill-deploy-")
    try:
        arch = args.arch
        if args.mpy and not arch:  # ask the board; a dry run goes by the board file
            arch = info.get("mpy", {}).get("march") if args.dry_run else board_arch(args, port, tmp)
            if not arch:
                raise CliError("--mpy needs the board's architecture: pass --arch")
            if not args.dry_run:
                print("deploy: the board runs %s code: compiling for -march=%s" % (arch, arch))
        entries = stage(tmp, args.board, args.mpy, arch, args.umqtt, args.config,
                        build_dir=os.path.join(ROOT, "build", "deploy", arch or "py"))
        for cmd in commands(args, port, tmp, entries):
            shown = " ".join(c if "\n" not in c else "'<remove old lib/rill and app>'" for c in cmd)
            print("deploy: " + shown.replace(tmp + "/", ""), flush=True)
            if args.dry_run:
                continue
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode:
                said = [ln for ln in r.stdout.strip().splitlines() if ln.strip()]
                raise CliError("%s failed (status %d): %s" % (os.path.basename(cmd[0]), r.returncode,
                                                               said[-1] if said else "no output"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.dry_run:
        return 0
    print("deploy: done: lib/rill (%s), firmware%s%s to %s" % (
        ".mpy" if args.mpy else ".py", ", umqtt.simple" if args.umqtt != "skip" else "",
        ", config.json" if args.config else "", port))
    if args.umqtt == "skip":
        print("deploy: the app needs umqtt.simple: on a networked board run "
              "`mpremote connect %s mip install umqtt.simple`" % port)
    elif args.umqtt == "copy":
        print("deploy: umqtt.simple is the pinned copy from .deps; a networked board can also "
              "`mip install umqtt.simple` itself")
    print("deploy: main.py starts the app at the next reset (Ctrl-D in `mpremote connect %s repl`)" % port)
    return 0


if __name__ == "__main__":
    cli(main)
