"""The build this code came from: ``build.json``, written by ``rill build`` and shipped
by ``rill deploy`` (tools/rill_host/build/identity.py computes it, in one place, for both).

    {"lib": sha256, "app": sha256, "config": sha256, "arch": "armv6m", "firmware": "1.25.0"}

``lib`` hashes the library's sources (every .py under lib/rill), ``app`` the app's
modules, ``config`` its config.json; ``arch`` is the .mpy architecture and ``firmware``
the MicroPython version the board reported at deploy. A missing or unreadable file
gives every field ``"unknown"``, never an error.

Loaded only when used (the bridge's birth, the recorder's header, rill.status). Heap:
the module (about 1 KB as .mpy) and the dict read, once per call.
"""
import json

FIELDS = ("lib", "app", "config", "arch", "firmware")
HASHES = ("lib", "app", "config")
UNKNOWN = "unknown"


def load(path="build.json"):
    """The identity in ``path``: a dict with every field of FIELDS, "unknown" where missing."""
    try:
        with open(path) as f:
            found = json.load(f)
    except (OSError, ValueError):
        found = None
    out = {}
    for k in FIELDS:
        v = found.get(k) if isinstance(found, dict) else None
        out[k] = v if isinstance(v, str) and v else UNKNOWN
    return out


def short(ident):
    """The short form: the first 12 hex of each hash, the other fields as they are."""
    out = {}
    for k in FIELDS:
        v = ident.get(k) or UNKNOWN
        out[k] = v[:12] if k in HASHES else v
    return out


def known(ident):
    """True when ``ident`` names a build (its lib hash is not unknown)."""
    return bool(ident) and ident.get("lib", UNKNOWN) != UNKNOWN


def differs(captured, running):
    """The hash fields in which two identities (full or short) differ, compared on the
    shorter of the two; empty when they match. An unknown field never matches."""
    out = []
    for k in HASHES:
        a, b = (captured or {}).get(k) or UNKNOWN, (running or {}).get(k) or UNKNOWN
        n = min(len(a), len(b))
        if a == UNKNOWN or b == UNKNOWN or a[:n] != b[:n]:
            out.append(k)
    return out


def birth(path="build.json"):
    """The bridge's birth fields: ``,"build":{...}`` (short form) as bytes, or b"" when
    there is no build.json (the birth then stays ``{"status":...,"boot":N}``)."""
    ident = load(path)
    if not known(ident):
        return b""
    return (',"build":' + json.dumps(short(ident), separators=(",", ":"))).encode()
