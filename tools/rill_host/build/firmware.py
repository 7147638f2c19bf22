#!/usr/bin/env python3
"""Freeze rill (and an app) into a MicroPython firmware with MicroPython's own tooling.

    rill firmware --target unix32|qemu-cortex-m3|qemu-cortex-m0 [--app DIR] [--micropython-src DIR] [--heap BYTES]

Writes a manifest (include/add_library/require/module, the per-feature manifests of
firmware/packages) and runs the port's make with FROZEN_MANIFEST=..., as a user would:

    make -C ports/unix VARIANT=standard MICROPY_FORCE_32BIT=1 MICROPY_PY_FFI=0 MICROPY_PY_BTREE=0 \\
         LDFLAGS_EXTRA=-static MPY_CROSS_FLAGS=-march=x86 FROZEN_MANIFEST=...      (unix32)
    make -C ports/qemu BOARD=MPS2_AN385 FROZEN_MANIFEST=...     (qemu-cortex-m3; MICROBIT: -m0)

The MicroPython source: ``--micropython-src`` (a checkout), else $RILL_MICROPYTHON_SRC,
else ../shared/micropython's tarball beside this repository, unpacked once into the cache
(keyed by its sha256). A target without a native emitter (the Cortex-M0) freezes the
library with its @micropython.native lines blanked (tools/rill_host/build/mpy.py ``bytecode_source``).
Builds are cached under $RILL_CACHE (default ~/.cache/rill) by the source, the target,
the manifest's text and the sha256 of every file it freezes: a re-run costs about 1 s.
``build(target, app_dir)`` is the same for other tools (the benchmarks); it returns the binary.
"""
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from rill_host.build.mpy import SRC, sources, stage_files
from rill_host import EXAMPLE
from rill_host.common import ROOT, CliError, Parser, cli, file_lock, sha256_file

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "micropython")
TARBALL = os.path.join(SHARED, "micropython-src-v1.28.0.tar.xz")
TARBALL_TAG = ("v1.28.0", "e0e9fbb17e")  # the version string for a tree without .git (as build.sh)
PACKAGES = os.path.join(EXAMPLE, "packages")
# qemu has no _asyncio C module: freeze the pure-Python package, task.py included
QEMU_BASE = ('package("asyncio", ("__init__.py", "core.py", "event.py", "funcs.py", "lock.py", "stream.py", '
             '"task.py"), base_path="$(MPY_DIR)/extmod", opt=3)')
TARGETS = {
    # "simulated": a port with no hardware, where an app runs on rill.sim (the virtual board's way)
    "unix32": {"port": "unix", "binary": "micropython", "native": True, "packages": "gcc-multilib", "simulated": True,
               "make": ["VARIANT=standard", "MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0",
                        "MICROPY_PY_SSL=1", "MICROPY_SSL_MBEDTLS=1", "LDFLAGS_EXTRA=-static",
                        "MPY_CROSS_FLAGS=-march=x86"],
               "base": 'include("$(PORT_DIR)/variants/standard/manifest.py")  # asyncio, ssl, mip, ...'},
    "qemu-cortex-m3": {"port": "qemu", "binary": "firmware.elf", "native": True, "machine": "mps2-an385",
                       "make": ["BOARD=MPS2_AN385"], "base": QEMU_BASE,
                       "packages": "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"},
    "qemu-cortex-m0": {"port": "qemu", "binary": "firmware.elf", "native": False, "machine": "microbit",
                       "make": ["BOARD=MICROBIT"], "base": QEMU_BASE,
                       "packages": "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"},
}


def cache_dir(*parts):
    base = os.environ.get("RILL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rill")
    return os.path.join(base, *parts)


def missing_tools(target):
    """What this machine lacks to build and run ``target``: a list of "command (Debian package)"."""
    need = [("make", "make")]
    if target == "unix32":
        need.append(("gcc", "gcc-multilib"))
        lib32 = subprocess.run(["gcc", "-m32", "-print-file-name=libc.a"], capture_output=True, text=True) \
            if shutil.which("gcc") else None
        if lib32 and not os.path.isabs(lib32.stdout.strip()):
            return ["32-bit libc (gcc-multilib)"]
    else:
        need += [("arm-none-eabi-gcc", "gcc-arm-none-eabi"), ("qemu-system-arm", "qemu-system-arm")]
    return ["%s (%s)" % (cmd, pkg) for cmd, pkg in need if not shutil.which(cmd)]


def source(src=None):
    """(MicroPython source tree, its cache key): ``src``, $RILL_MICROPYTHON_SRC, else the
    shared tarball unpacked once into the cache."""
    src = src or os.environ.get("RILL_MICROPYTHON_SRC")
    if src:
        if not os.path.isfile(os.path.join(src, "tools", "makemanifest.py")):
            raise CliError("%s is not a MicroPython source tree (no tools/makemanifest.py)" % src)
        real = os.path.realpath(src)
        head = subprocess.run(["git", "-C", real, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        return real, hashlib.sha256(("%s %s" % (real, head.strip())).encode()).hexdigest()[:16]
    if not os.path.isfile(TARBALL):
        raise CliError("no MicroPython source: pass --micropython-src DIR (a MicroPython checkout) or set "
                       "RILL_MICROPYTHON_SRC (%s is absent)" % os.path.relpath(TARBALL, ROOT))
    key = sha256_file(TARBALL)[:16]
    where = cache_dir("src", key)
    tree = os.path.join(where, "micropython-" + TARBALL_TAG[0])
    with file_lock(where + ".lock"):
        if not os.path.exists(os.path.join(where, ".done")):
            shutil.rmtree(where, ignore_errors=True)
            os.makedirs(where)
            with tarfile.open(TARBALL) as t:
                t.extractall(where)
            open(os.path.join(where, ".done"), "w").close()
    return tree, key


def manifestfile(tree):
    """MicroPython's own tools/manifestfile.py from ``tree`` (the real manifest tool)."""
    name = "manifestfile_" + hashlib.sha256(tree.encode()).hexdigest()[:8]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(tree, "tools", "manifestfile.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[name] = mod
    return sys.modules[name]


def frozen_files(tree, manifest, port):
    """[(target path, full path)] that ``manifest`` freezes for ``port``, by the real tool;
    CliError with the tool's own message when it rejects the manifest."""
    mf = manifestfile(tree)
    m = mf.ManifestFile(mf.MODE_FREEZE, {
        "MPY_DIR": tree, "MPY_LIB_DIR": os.path.join(tree, "lib", "micropython-lib"),
        "PORT_DIR": os.path.join(tree, "ports", port), "BOARD_DIR": None})
    try:
        m.execute(manifest)
    except mf.ManifestFileError as e:
        raise CliError("MicroPython's manifest tool rejects %s: %s" % (manifest, e))
    return [(f.target_path, f.full_path) for f in m.files()]


def stage(root, native, app_dir=None, extra=()):
    """lib/, firmware/packages and the app (and ``extra`` (source, module path) pairs) copied
    under ``root``, through bytecode_source when not ``native``; returns the app's modules."""
    pairs = [(os.path.join(SRC, rel), os.path.join(root, "lib", rel)) for rel in sources("x64")]
    for name in os.listdir(PACKAGES):
        m = os.path.join(PACKAGES, name, "manifest.py")
        if os.path.exists(m):
            pairs.append((m, os.path.join(root, "firmware", "packages", name, "manifest.py")))
    app = []
    if app_dir:
        for name in sorted(os.listdir(app_dir)):
            if name.endswith(".py") and name not in ("manifest.py", "conftest.py", "boot.py", "main.py"):
                app.append(name)
                pairs.append((os.path.join(app_dir, name), os.path.join(root, "app", name)))
    pairs += [(src, os.path.join(root, "extra", name)) for src, name in extra]
    stage_files(pairs, native)
    return app


def manifest_text(target, root, names, app, extra):
    spec = TARGETS[target]
    lines = ["# Written by rill firmware (tools/rill_host/build/firmware.py) for %s: do not edit." % target,
             "# ruff: noqa: F821", spec["base"],
             'add_library("rill", "%s")' % os.path.join(root, "firmware", "packages")]
    lines += ['require("%s", library="rill")' % n for n in names]
    lines += ['module("%s", base_path="%s")' % (m, os.path.join(root, "app")) for m in app]
    lines += ['module("%s", base_path="%s")' % (name, os.path.join(root, "extra")) for _, name in extra]
    return "\n".join(lines) + "\n"


def _make(tree, spec, build_dir, manifest, heap):
    args = ["make", "-C", os.path.join(tree, "ports", spec["port"]), "-j%d" % (os.cpu_count() or 2)]
    args += spec["make"] + ["BUILD=" + build_dir, "FROZEN_MANIFEST=" + manifest]
    if heap:
        args.append("MICROPY_HEAP_SIZE=%d" % heap)
    env = dict(os.environ)
    if not os.path.exists(os.path.join(tree, ".git")):  # the tarball: the version from its tag, as build.sh
        env.update(MICROPY_GIT_TAG=TARBALL_TAG[0], MICROPY_GIT_HASH=TARBALL_TAG[1],
                   GIT_CEILING_DIRECTORIES=os.path.dirname(tree))
    log = os.path.join(build_dir + ".log")
    with open(log, "w") as f:
        proc = None
        if not os.path.exists(os.path.join(tree, "mpy-cross", "build", "mpy-cross")):
            # first, on its own: the port's BUILD= would reach mpy-cross's own make
            proc = subprocess.run(["make", "-C", os.path.join(tree, "mpy-cross"), args[3]], stdout=f,
                                  stderr=subprocess.STDOUT, env=env)
        if proc is None or proc.returncode == 0:
            proc = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        with open(log) as f:
            tail = [ln.strip() for ln in f.read().splitlines() if ln.strip()][-3:]
        raise CliError("make %s failed (log: %s): %s" % (" ".join(args[5:]), log, " | ".join(tail)))


def app_dispatch(app_dir, native, board_id=None, log=None):
    """[(source, module file)] of the app's host-built dispatch (tools/rill_host/build/dispatchgen.py), frozen
    with it; none, with one line saying so, when the host cannot build the app's pipeline."""
    from rill_host.build import dispatchgen

    out = cache_dir("dispatch", hashlib.sha256(os.path.abspath(app_dir).encode()).hexdigest()[:16])
    shutil.rmtree(out, ignore_errors=True)
    try:
        paths = dispatchgen.stage(app_dir, out, board_id, native=native)
    except CliError as e:
        (log or print)("firmware: no fast dispatch for %s (%s): it runs the reference dispatch" % (app_dir, e))
        return []
    return [(p, os.path.basename(p)) for p in paths]


def build(target, app_dir=None, src=None, heap=None, packages=None, extra=(), log=None, board_id=None):
    """The firmware for ``target`` with rill (``packages``, default: what the app needs,
    else every device package) and the app frozen, plus ``extra`` [(source, module path)];
    ``heap`` sets MICROPY_HEAP_SIZE (qemu). Returns the path of the binary (micropython or
    firmware.elf), from the cache when nothing changed."""
    from rill_host.build.packages import HOST_PACKAGES, Model, needed

    spec = TARGETS.get(target)
    if spec is None:
        raise CliError("unknown target %r (targets: %s)" % (target, ", ".join(TARGETS)))
    if app_dir and not os.path.isdir(app_dir):
        raise CliError("no app folder %s" % app_dir)
    tree, src_key = source(src)
    if app_dir:
        extra = list(extra) + app_dispatch(app_dir, spec["native"], board_id, log)
    root = cache_dir("stage", "native" if spec["native"] else "bytecode")
    with file_lock(root + ".lock"):
        app = stage(root, spec["native"], app_dir, extra)
        if packages is None:
            model = Model()
            if app:
                packages = needed([os.path.join(app_dir, m) for m in app], model=model)[0]
            else:
                packages = [n for n in model.packages() if n not in HOST_PACKAGES]
            if spec.get("simulated"):
                packages = sorted(set(packages) | set(HOST_PACKAGES))
        text = manifest_text(target, root, packages, app, extra)
        manifest = os.path.join(root, "manifest-%s.py" % hashlib.sha256(text.encode()).hexdigest()[:16])
        with open(manifest, "w") as f:
            f.write(text)
        h = hashlib.sha256(json.dumps([src_key, target, heap, text]).encode())
        for name, path in sorted(frozen_files(tree, manifest, spec["port"])):
            h.update(("%s %s\n" % (name, sha256_file(path))).encode())
        out = cache_dir("firmware", "%s-%s" % (target, h.hexdigest()[:20]), spec["binary"])
        if os.path.exists(out):
            return out
        if missing_tools(target):
            raise CliError("cannot build %s: missing %s" % (target, ", ".join(missing_tools(target))))
        build_dir = cache_dir("build", src_key, target + ("-h%d" % heap if heap else ""))
        with file_lock(build_dir + ".lock"):
            # a new manifest regenerates the frozen content; only it and the link are redone
            for stale in ("frozen_content.c", "frozen_content.o"):
                if os.path.exists(os.path.join(build_dir, stale)):
                    os.remove(os.path.join(build_dir, stale))
            if log:
                log("firmware: building %s in %s" % (target, build_dir))
            _make(tree, spec, build_dir, manifest, heap)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy(os.path.join(build_dir, spec["binary"]), out + ".tmp")
            shutil.copy(manifest, os.path.join(os.path.dirname(out), "manifest.py"))
            os.replace(out + ".tmp", out)
    return out


def main(argv):
    p = Parser(prog="rill firmware", description="Freeze rill and an app into a MicroPython firmware.")
    p.add_argument("--target", required=True, choices=sorted(TARGETS), help="what to build")
    p.add_argument("--app", help="an app folder whose .py files are frozen with the rill packages they import")
    p.add_argument("--micropython-src", help="a MicroPython source tree (default: $RILL_MICROPYTHON_SRC, "
                   "else ../shared/micropython's tarball)")
    p.add_argument("--heap", type=int, help="MICROPY_HEAP_SIZE in bytes (qemu targets)")
    p.add_argument("--board", help="the board the app's dispatch is built for (default: its config.json \"board\")")
    args = p.parse_args(argv)
    path = build(args.target, args.app, args.micropython_src, args.heap, log=print, board_id=args.board)
    print("firmware: %s" % path)
    print("firmware: manifest %s" % os.path.join(os.path.dirname(path), "manifest.py"))
    return 0


if __name__ == "__main__":
    cli(main, "rill firmware")
