"""What a deploy puts on a board: the file plan of tools/rill_host/deploy/cli.py and tools/rill_host/vboard/run.py.

An app is a folder (its top-level .py modules and packages, minus tests and conftest.py,
and its config.json) or one module file. The plan, as (board path, host file, group):

    /lib/rill/...               the rill packages the app imports (tools/rill_host/build/packages.py), as
                                .mpy for the board's architecture (or .py with source=True);
                                the simulator only for the unix port (a virtual board)
    /lib/umqtt/simple.mpy       the pinned dependencies the app needs (tools/rill_host/build/deps.lock)
    /<module>.mpy ...           the app's modules (``main.py``/``boot.py`` stay source)
    /rill_dispatch_<p>.mpy      the fast dispatch of the app's pipeline(board, cfg), made on
                                the host (tools/rill_host/build/dispatchgen.py), native code for the arch
    /boot.py /main.py           the app's own, else firmware/'s, whose main.py imports the
                                app module as ``app`` and calls ``app.main()``
    /config.json                --config, else the app folder's config.json
    /boards/<BOARD>/board.json  read by rill.board on the device: boards/<BOARD>/board.json
                                completed on the host (``device_board``), so the device
                                need not load rill.boardhelp to complete it
    /build.json                 the build's identity (tools/rill_host/build/identity.py), read by
                                rill.identity: hashes of lib, app and config, the
                                architecture and the firmware version the board reported
"""
import ast
import hashlib
import json
import os
import shutil

from rill_host import EXAMPLE, LIB
from rill_host.build import identity as build_identity
from rill_host.build.dispatchgen import build as dispatch
from rill_host.build.mpy import HOST_ARCHES, build_mpy, compile_file, pinned_deps
from rill_host.build.packages import Model, needed
from rill_host.common import BOARDS, ROOT, CliError, sha256_file

FIRMWARE = EXAMPLE
OTA_IMPORTS = os.path.join(FIRMWARE, "main.py")  # imports rill.ota (boot, safemode): the whole package ships
SKIP_DIRS = ("tests", "test", "host_tests", "__pycache__", "build", "packages")
SKIP_FILES = ("conftest.py", "manifest.py", "setup.py")  # host-side: pytest, the freezer, packaging


class App:
    """A user's app: ``modules`` {board path: host file}, ``main`` (the module main.py imports)."""

    def __init__(self, where):
        where = os.path.abspath(where)
        self.modules, self.config = {}, None
        if os.path.isfile(where) and where.endswith(".py"):
            self.root = os.path.dirname(where)
            self.modules[os.path.basename(where)] = where
        elif os.path.isdir(where):
            self.root = where
            self._scan(where, "")
            if os.path.isfile(os.path.join(where, "config.json")):
                self.config = os.path.join(where, "config.json")
        else:
            raise CliError("no app %s (give a folder or a .py module)" % where)
        plain = sorted(m for m in self.modules if "/" not in m and m not in ("boot.py", "main.py"))
        if not plain:
            raise CliError("the app %s has no .py module" % where)
        self.main = "app" if "app.py" in plain else plain[0][:-3]
        if len(plain) > 1 and "app.py" not in plain and "main.py" not in self.modules:
            raise CliError("the app %s has several modules (%s) and no app.py or main.py: which one starts it?"
                           % (where, ", ".join(plain)))

    def _scan(self, folder, prefix):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                wanted = name not in SKIP_DIRS and not name.startswith(".")
                if wanted and os.path.exists(os.path.join(path, "__init__.py")):
                    self._scan(path, prefix + name + "/")
            elif name.endswith(".py") and name not in SKIP_FILES and not name.startswith("test_"):
                self.modules[prefix + name] = path


def main_py(app, out):
    """The app's main.py, else firmware/main.py made to start ``app.main``."""
    if "main.py" in app.modules:
        return app.modules["main.py"]
    with open(os.path.join(FIRMWARE, "main.py")) as f:
        text = f.read()
    if app.main != "app":
        text = text.replace("    import app\n", "    import %s as app\n" % app.main)
    path = os.path.join(out, "main.py")
    with open(path, "w") as f:
        f.write(text)
    return path


def plan(app, board, arch, source=False, config=None, deps=True, out=None, firmware=None, ota=False):
    """[(board path, host file, group)] for ``app`` on ``board`` (a board id) built for ``arch``,
    on MicroPython ``firmware`` (a version, for build.json); ``ota``: with rill.ota (OTA
    updates and safe mode, tools/rill_host/deploy/ota.py), which the app does not import."""
    out = out or os.path.join(ROOT, "build", "deploy", arch)
    host = arch in HOST_ARCHES
    names, dep_names = needed(list(app.modules.values()) + ([OTA_IMPORTS] if ota else []), host=host)
    items = []
    lib_files = Model().files(names)
    if source:
        items += [("/lib/" + rel, os.path.join(LIB, rel), "rill") for rel in lib_files]
    else:
        build_mpy(os.path.join(out, "lib"), arch, deps=True, cached=True)
        items += [("/lib/%s.mpy" % rel[:-3], os.path.join(out, "lib", rel[:-3] + ".mpy"), "rill") for rel in lib_files]
    for member, path in pinned_deps() if deps else ():
        if member.split("/")[0] + "." + os.path.basename(member)[:-3] not in dep_names:
            continue
        if not os.path.exists(path):
            raise CliError("no pinned %s in .deps; run 'make setup'" % member)
        items.append(("/lib/" + member, path, "deps") if source else
                     ("/lib/" + member[:-3] + ".mpy", os.path.join(out, "lib", member[:-3] + ".mpy"), "deps"))
    # one folder per app and board: two deploys of different apps at once do not share it
    app_key = hashlib.sha256(os.path.realpath(app.root).encode()).hexdigest()[:12]
    app_out = os.path.join(out, "app", app_key, board)
    shutil.rmtree(app_out, ignore_errors=True)
    os.makedirs(app_out)
    for rel, path in sorted(app.modules.items()):
        if source or rel in ("boot.py", "main.py"):
            items.append(("/" + rel, path, "app"))
        else:
            mpy = os.path.join(app_out, rel[:-3] + ".mpy")
            compile_file(os.path.relpath(path, app.root), mpy, arch, cwd=app.root)
            items.append(("/" + rel[:-3] + ".mpy", mpy, "app"))
    for name, path in dispatch(app.root, app_out, arch, board, source) if "app.py" in app.modules else ():
        items.append(("/" + name, path, "app"))
    if "boot.py" not in app.modules:
        items.append(("/boot.py", os.path.join(FIRMWARE, "boot.py"), "app"))
    if "main.py" not in app.modules:
        items.append(("/main.py", main_py(app, app_out), "app"))
    config = config or app.config
    if config:
        items.append(("/config.json", config, "config"))
    items.append(("/boards/%s/board.json" % board, device_board(board, app_out), "config"))
    ident = build_identity.identity(app.modules, config, arch, firmware)
    items.append(("/build.json", build_identity.write(os.path.join(app_out, "build.json"), ident), "config"))
    return items


def device_board(board, out):
    """boards/<board>/board.json as a device reads it, written to ``out``/board.json: the
    fields rill.board reads (rill.boardhelp's DEVICE_FIELDS) and its MCU's facts from
    boards/mcus.json (what rill.boardhelp.complete adds to a repository board file)."""
    with open(os.path.join(BOARDS, board, "board.json")) as f:
        info = json.load(f)
    with open(os.path.join(BOARDS, "mcus.json")) as f:
        mcu = json.load(f).get(info.get("mcu"))
    if mcu is None:
        raise CliError("board %s: mcu %r is not in boards/mcus.json" % (board, info.get("mcu")))
    out_info = {k: info[k] for k in _device_fields() if k in info}
    out_info.update(platform=mcu["platform"], pin_irq_hard=mcu["pin_irq_hard"], temp_sensor=mcu["temp_sensor"]["kind"])
    path = os.path.join(out, "board.json")
    with open(path, "w") as f:
        json.dump(out_info, f, separators=(",", ":"), sort_keys=True)
    return path


def _device_fields():
    """rill.boardhelp.DEVICE_FIELDS, read from its source (the library does not run here)."""
    with open(os.path.join(LIB, "rill", "boardhelp.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DEVICE_FIELDS":
            return ast.literal_eval(node.value)
    raise CliError("lib/rill/boardhelp.py has no DEVICE_FIELDS")


def twins(items):
    """Board paths that would shadow or outlive a planned module: x.py beside x.mpy and back."""
    planned = {p for p, _, _ in items}
    found = set()
    for p in planned:
        for a, b in ((".mpy", ".py"), (".py", ".mpy")):
            if p.endswith(a) and p[: -len(a)] + b not in planned and p not in ("/boot.py", "/main.py"):
                found.add(p[: -len(a)] + b)
    return sorted(found)


def stage(dest, items):
    """Copy a plan into the folder ``dest`` (a virtual board's filesystem, or a dry run's)."""
    for remote, local, _ in items:
        path = os.path.join(dest, remote.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(local, path)


def hashes(items):
    return {remote: sha256_file(local) for remote, local, _ in items}
