#!/usr/bin/env python3
"""Per-feature packages of lib/rill, as in micropython-lib: a mip ``package.json`` and a
freezing ``manifest.py`` each, generated from the lib/ file tree by rule.

    python -m rill_host.build.packages            # rewrite firmware/packages/ and firmware/package.json
    python -m rill_host.build.packages --check    # exit 1 if any generated file is out of date

The rule (no hand lists, so new and renamed modules land by themselves):

- ``core``: the modules at the top of lib/rill;
- one package per subpackage of lib/rill (``mqtt``, ``sim``, ...), named after it;
- ``drivers`` is split: ``drivers`` holds drivers/__init__.py and the modules other
  drivers import (the shared base), and each other module X is ``drivers-X``;
- ``sim`` (the simulated hardware) is host only: no device package needs it, and
  real-board builds leave it out (tools/rill_host/build/mpy.py);
- ``board-<ID>``: boards/<ID>/board.json, installed at / (``mip install --target /``);
- a package needs what its modules import at module level (found with ``ast``); it
  lists its own files and those of every package it needs, so each installs alone. An
  import of a pinned dependency (tools/rill_host/build/deps.lock: umqtt.simple) adds it to ``deps`` at
  the pinned version, never "latest"; the manifest freezes the pinned copy in .deps.

firmware/package.json is the example app's (firmware/app.py) libraries: what a real
board needs to run it, without the simulator. ``needed(files)`` gives the packages an
app needs, counting imports inside functions too (tools/rill_host/deploy/cli.py ships just those).
"""
import ast
import json
import os
import shutil
import sys
from rill_host.build.mpy import SRC, sources
from rill_host import EXAMPLE
from rill_host.common import ROOT, CliError, Parser, cli, known_boards
from rill_host.build.deps import locked

OUT = os.path.join(EXAMPLE, "packages")
FIRMWARE = EXAMPLE
HOST_PACKAGES = ("sim",)
COMPAT = "rill.cpython_compat"


def module_name(rel):
    """rill/mqtt/__init__.py -> rill.mqtt; rill/graph.py -> rill.graph."""
    parts = rel.replace(os.sep, "/")[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules():
    """{module name: path relative to lib/} of every library module, sim included."""
    return {module_name(rel): rel for rel in sources("x64")}


def _resolve(mod, rel, node, known):
    """Module names an import statement brings in (only library ones and pinned deps)."""
    is_pkg = rel.endswith("__init__.py")
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        up = mod.split(".")[: len(mod.split(".")) - node.level + (1 if is_pkg else 0)]
        base = ".".join(up + ([node.module] if node.module else []))
    found = [base]
    found += [base + "." + a.name for a in node.names if base + "." + a.name in known]
    return found


def imports(rel, known, deep):
    """Names imported by lib/<rel>: module level only, or everywhere with ``deep``."""
    with open(os.path.join(SRC, rel)) as f:
        tree = ast.parse(f.read(), rel)
    mod = module_name(rel)
    found = set()

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and (top or deep):
                found.update(_resolve(mod, rel, child, known))
            inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
            visit(child, top and not inner)

    visit(tree, True)
    return found


def _with_parents(name, known):
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in known}


def pinned():
    """{top-level import name: (mip name, version, [lib-relative member files])} of tools/rill_host/build/deps.lock."""
    found = {}
    for pkg in locked():
        name = pkg["name"].split("micropython-", 1)[-1]
        found[name] = (name, pkg["version"], [f["member"] for f in pkg["files"]])
    return found


class Model:
    """Every module's package and imports, read from the tree once."""

    def __init__(self):
        self.known = all_modules()
        self.pinned = pinned()
        self.shallow = {m: imports(rel, self.known, False) for m, rel in self.known.items()}
        self.deep = {m: imports(rel, self.known, True) for m, rel in self.known.items()}
        shared = set()
        for m, names in self.shallow.items():
            if m.startswith("rill.drivers."):
                shared |= {n for n in names if n.startswith("rill.drivers.") and n != m}
        self.owner = {m: self._package(m, shared) for m in self.known}

    def _package(self, mod, shared_drivers):
        parts = mod.split(".")
        if len(parts) == 1 or (len(parts) == 2 and not self.known[mod].endswith("__init__.py")):
            return "core"
        if parts[1] == "drivers" and len(parts) == 3 and mod not in shared_drivers:
            return "drivers-" + parts[2]
        return parts[1]

    def edges(self, mod, deep=False):
        """(library modules, pinned dep names) that importing ``mod`` needs."""
        mods, deps = set(), set()
        for name in (self.deep if deep else self.shallow)[mod]:
            if name in self.known and name != COMPAT:
                mods |= _with_parents(name, self.known)
            elif name in self.pinned:
                deps.add(name)
        return mods, deps

    def closure(self, mods, deep=False, host=False):
        """Packages and pinned deps needed by ``mods`` and what they import, transitively;
        a package comes whole, so what any of its modules imports counts too."""
        seen, todo, deps = set(), list(mods), set()
        while todo:
            m = todo.pop()
            if m in seen or (not host and self.owner[m] in HOST_PACKAGES):
                continue
            seen.add(m)
            more, d = self.edges(m, deep)
            deps |= d
            more |= _with_parents(m, self.known) | {n for n, p in self.owner.items() if p == self.owner[m]}
            todo += [n for n in more if n not in seen]
        return sorted({self.owner[m] for m in seen}), sorted(deps)

    def packages(self):
        """{name: {"own": [rel], "needs": [package], "deps": [pinned]}}, in name order."""
        out = {}
        for name in sorted(set(self.owner.values())):
            own = sorted(self.known[m] for m, p in self.owner.items() if p == name)
            host = name in HOST_PACKAGES
            needs, deps = self.closure([m for m, p in self.owner.items() if p == name], host=host)
            out[name] = {"own": own, "needs": [n for n in needs if n != name], "deps": deps}
        return out

    def files(self, names):
        """lib-relative files of the packages ``names``, sorted."""
        return sorted(self.known[m] for m, p in self.owner.items() if p in names)


def _rel_url(path_from_root, depth):
    return "/".join([".."] * depth + [path_from_root])


def package_json(model, pkgs, names, deps, depth, version, extra=()):
    """A mip package.json listing the files of ``names`` (relative URLs ``depth`` folders up)."""
    urls = [[rel.replace(os.sep, "/"), _rel_url("lib/" + rel.replace(os.sep, "/"), depth)]
            for rel in model.files(names)] + [list(e) for e in extra]
    return {"urls": urls, "deps": [[d, model.pinned[d][1]] for d in deps], "version": version}


def manifest_py(model, name, pkg, version, depth=3):
    lines = ["# Generated by tools/rill_host/build/packages.py from the lib/ tree: do not edit.",
             "# ruff: noqa: E501, F821  (the freezer's manifest API; generated file lists)",
             'metadata(description="rill: %s", version="%s")' % (describe(name), version)]
    if pkg["needs"]:  # require(), not include(): each package keeps its own metadata()
        lines.append('add_library("rill", "..")  # firmware/packages, where require() finds the ones this needs')
        lines += ['require("%s", library="rill")' % n for n in pkg["needs"]]
    own = [rel.replace(os.sep, "/")[len("rill/"):] for rel in pkg["own"]]
    lines.append('package("rill", files=%s, base_path="%s")' % (json.dumps(own), _rel_url("lib", depth)))
    for d in pkg["deps"]:
        top, _, files = model.pinned[d]
        pkg_dir = os.path.dirname(files[0])
        lines.append('package("%s", files=%s, base_path="%s")  # pinned in tools/rill_host/build/deps.lock: %s %s'
                     % (pkg_dir, json.dumps([f[len(pkg_dir) + 1:] for f in files]),
                        _rel_url(".deps/micropython", depth), top, model.pinned[d][1]))
    return "\n".join(lines) + "\n"


def describe(name):
    if name == "core":
        return "pipelines, buffers, runtime, board files"
    if name.startswith("drivers-"):
        return "the %s driver" % name[len("drivers-"):]
    if name in HOST_PACKAGES:
        return "%s (host only: the virtual board)" % name
    return "the %s package" % name


def lib_version():
    """rill.__version__, read from the source (no import: it must not run on the host)."""
    with open(os.path.join(SRC, "rill", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    return "0.0.0"


def app_modules(files, model):
    """(library modules, pinned deps) an app's .py files import (anywhere in them)."""
    found, deps = set(), set()
    for path in files:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                for name in _resolve("", "", node, model.known):
                    if name in model.known and name != COMPAT:
                        found |= _with_parents(name, model.known)
                    elif name in model.pinned:
                        deps.add(name)
    return found, deps


def needed(files, host=False, model=None):
    """(packages, pinned deps) an app made of ``files`` needs: what it imports, counting
    imports inside functions (a board helper may import a driver when called), and the
    pinned micropython-lib packages (tools/rill_host/build/deps.lock) that it or the library imports."""
    model = model or Model()
    mods, own_deps = app_modules(files, model)
    names, deps = model.closure(mods | {"rill"}, deep=True, host=host)
    return names, sorted(set(deps) | own_deps)


def _dump(obj):
    """package.json text: one URL pair per line, for readable diffs."""
    urls = ",\n    ".join(json.dumps(u) for u in obj["urls"])
    return '{\n  "urls": [\n    %s\n  ],\n  "deps": %s,\n  "version": %s\n}\n' % (
        urls, json.dumps(obj["deps"]), json.dumps(obj["version"]))


def generated():
    """{path: text} of every generated file."""
    model, version = Model(), lib_version()
    pkgs = model.packages()
    files = {}
    for name, pkg in pkgs.items():
        where = os.path.join(OUT, name)
        files[os.path.join(where, "package.json")] = _dump(
            package_json(model, pkgs, [name] + pkg["needs"], pkg["deps"], 3, version))
        files[os.path.join(where, "manifest.py")] = manifest_py(model, name, pkg, version)
    for board in known_boards():
        rel = "boards/%s/board.json" % board
        files[os.path.join(OUT, "board-" + board, "package.json")] = _dump(
            {"urls": [[rel, _rel_url(rel, 3)]], "deps": [], "version": version})
    names, deps = needed([os.path.join(FIRMWARE, "app.py")], model=model)
    files[os.path.join(FIRMWARE, "package.json")] = _dump(package_json(model, pkgs, names, deps, 1, version))
    files[os.path.join(FIRMWARE, "manifest.py")] = FIRMWARE_MANIFEST % "\n".join(
        'require("%s", library="rill")' % n for n in names)
    return files


FIRMWARE_MANIFEST = """\
# ruff: noqa: F821  (the freezer's manifest API: include, require, module, ...)
# Generated by tools/rill_host/build/packages.py: do not edit. Freezes the example app (app.py) and the
# rill packages it imports into a MicroPython firmware image, for any port (read by
# MicroPython's tools/makemanifest.py; see docs/boards.md "Freezing"). From a MicroPython checkout:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/repo/firmware/manifest.py
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/repo/firmware/manifest.py
# Frozen modules run from flash, so importing them costs no heap for the code. boot.py,
# main.py, config.json and the board file still go on the board's filesystem:
#   rill deploy --port PORT --board BOARD   (ships only what is not frozen)
# A FROZEN_MANIFEST replaces the port's own, so it is included first: esp32 and rp2 keep
# asyncio and their filesystem setup (_boot.py) in boards/manifest.py. The unix and qemu
# ports have none; there asyncio is frozen from extmod, with task.py (qemu has no _asyncio).
try:
    include("$(PORT_DIR)/boards/manifest.py")
except Exception as e:
    if "boards/manifest.py: [Errno 2]" not in str(e):  # only "no such file" means no port manifest
        raise
    include("$(MPY_DIR)/extmod/asyncio")
    module("asyncio/task.py", base_path="$(MPY_DIR)/extmod", opt=3)
add_library("rill", "packages")  # firmware/packages: one manifest per rill package
%s
module("app.py")
"""


def stale():
    """Generated files whose text differs from the tree's rule, and stray package folders."""
    want = generated()
    bad = []
    for path, text in sorted(want.items()):
        try:
            with open(path) as f:
                if f.read() == text:
                    continue
        except OSError:
            pass
        bad.append(path)
    if os.path.isdir(OUT):
        for d in sorted(os.listdir(OUT)):
            if not any(p.startswith(os.path.join(OUT, d) + os.sep) for p in want):
                bad.append(os.path.join(OUT, d))
    return want, bad


def main(argv):
    p = Parser(prog="python -m rill_host.build.packages", description="Generate the per-feature mip packages and manifests.")
    p.add_argument("--check", action="store_true", help="only check that the generated files are up to date")
    args = p.parse_args(argv)
    want, bad = stale()
    if args.check:
        if bad:
            raise CliError("%d generated file(s) out of date, e.g. %s; run 'python -m rill_host.build.packages'"
                           % (len(bad), os.path.relpath(bad[0], ROOT)))
        print("packages: %d files up to date" % len(want))
        return 0
    for path in bad:
        if path not in want:
            shutil.rmtree(path, ignore_errors=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(want[path])
    print("packages: wrote %d of %d files" % (len([b for b in bad if b in want]), len(want)))
    return 0

if __name__ == "__main__":
    cli(main, "python -m rill_host.build.packages")
