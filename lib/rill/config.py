"""config.json, read strictly: the same text is the same settings (or the same error) on
every runtime.

MicroPython's ``json`` accepts what RFC 8259 rejects (a trailing comma, a missing one),
so a config.json that works on a board could fail the host's tests, or the reverse.
``load`` checks the bytes with ``rill.strict`` first, then the keys rill itself reads
against ``SCHEMA`` (an app's own keys pass unchecked). Each error is one ValueError
naming the file, the line and the key: ``config.json line 3 (key "mqtt.port"): ...``.

The host's ``rill test``, ``rill run`` and ``rill deploy`` call ``load`` before anything
runs or ships; an app calls it at start. Heap: the file's bytes, the decoded dict, and
this module with rill.strict while loading; ``load_once`` unloads both (a running app keeps
its settings only). The error texts (where in the file, what was wanted) are in
rill.configerr, loaded only for a file that is refused.
"""
from . import strict

# The keys rill reads (the tools, the bridge's settings in the example and template
# apps): name -> a type, a tuple of types, or a dict for an object of known keys.
SCHEMA = {
    "board": str,
    "device": (str, type(None)),
    "mqtt": {"host": str, "port": int, "topic": str, "keepalive": int, "user": str, "password": str,
             "tls": (dict, type(None))},
    "wifi": ({"ssid": str, "password": str, "ap": (dict, type(None))}, type(None)),
    "homeassistant": (str, type(None)),
}


def _ok(value, want):
    if isinstance(want, tuple):
        for w in want:
            if _ok(value, w):
                return True
        return False
    if isinstance(want, dict):
        return isinstance(value, dict)
    if isinstance(value, bool):  # true is no number here
        return want is bool
    return isinstance(value, (int, float) if want is float else want)


def _bad(value, schema, path):
    """The first key of ``value`` that ``schema`` refuses: (key, value, want), or None."""
    for name, want in schema.items():
        if name in value:
            v = value[name]
            if not _ok(v, want):
                return path + name, v, want
            for w in want if isinstance(want, tuple) else (want,):
                if isinstance(w, dict) and isinstance(v, dict):
                    bad = _bad(v, w, path + name + ".")
                    if bad:
                        return bad
    port = value.get("port") if path == "mqtt." else None
    if port is not None and not 0 < port < 65536:
        return "mqtt.port", port, "port"
    return None


def parse(b, name="config.json"):
    """The settings in bytes ``b`` (a dict); ValueError naming ``name``, the line and the key."""
    try:
        strict.check(b)
    except ValueError as e:
        from .configerr import syntax

        raise syntax(b, name, e)
    value = strict.loads(b)
    bad = (None, value, None) if not isinstance(value, dict) else _bad(value, SCHEMA, "")
    if bad:
        from .configerr import schema

        raise schema(b, name, *bad)
    return value


def load(path="config.json"):
    """The settings in the file at ``path``; ValueError naming it, the line and the key."""
    with open(path, "rb") as f:
        b = f.read()
    return parse(b, path)


def load_once(path="config.json"):
    """``load``, then this module, rill.strict and rill.configerr unloaded (an app reads
    its config once)."""
    import sys

    names = ("rill.config", "rill.strict", "rill.configerr")
    loaded = [n for n in names if n in sys.modules and n != __name__]
    try:
        return load(path)
    finally:
        for name in names:
            if name not in loaded:
                sys.modules.pop(name, None)
