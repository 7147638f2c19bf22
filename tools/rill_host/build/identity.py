"""Build identity: what a build is made of, as the ``build.json`` that goes onto a board.

    {"lib": sha256, "app": sha256, "config": sha256, "arch": "armv6m", "firmware": "1.25.0"}

The one place these hashes are computed: ``rill build`` (tools/rill_host/build/mpy.py) writes
build/mpy/build.json, ``rill deploy`` (tools/rill_host/deploy/plan.py) ships /build.json, and
``rill replay`` compares a capture's identity with the code it replays. On the board,
rill.identity reads it.

- ``lib``: every .py under lib/rill (the library's version, whatever subset a deploy
  ships, and whatever architecture it is compiled for);
- ``app``: the app's modules (tools/deploy_plan.App: not its tests), ``"none"`` without one;
- ``config``: its config.json, ``"none"`` without one.

Each tree hash is the sha256 of the lines ``<relative path> <sha256 of the file>``,
sorted by path, so it does not depend on file dates or on the order of a listing.
"""
import hashlib
import json
import os

from rill_host import LIB as _LIB
from rill_host.common import sha256_file

LIB = os.path.join(_LIB, "rill")
NONE = "none"


def tree_hash(files):
    """sha256 over ``{relative path: host file}``: one line per file, sorted by path."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(("%s %s\n" % (rel.replace(os.sep, "/").lstrip("/"), sha256_file(files[rel]))).encode())
    return h.hexdigest()


def lib_files(top=LIB):
    found = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                found[os.path.relpath(path, top)] = path
    return found


def identity(app_modules=None, config=None, arch=None, firmware=None):
    """The identity of lib/rill with ``app_modules`` ({path: host file}) and ``config``
    (a path), built for ``arch`` and the MicroPython ``firmware`` version."""
    return {"lib": tree_hash(lib_files()),
            "app": tree_hash(app_modules) if app_modules else NONE,
            "config": sha256_file(config) if config else NONE,
            "arch": arch or "unknown", "firmware": firmware or "unknown"}


def write(path, ident):
    """Write ``ident`` as build.json (compact, sorted: equal identities give equal files)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(ident, sort_keys=True, separators=(",", ":")) + "\n")
    return path
