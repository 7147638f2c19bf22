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
its settings only).
"""
from . import strict

# The keys rill reads (the tools, the bridge's settings in the example and template
# apps): name -> a type, a tuple of types, or a dict for an object of known keys.
SCHEMA = {
    "board": str,
    "device": (str, type(None)),
    "mqtt": {"host": str, "port": int, "topic": str, "keepalive": int, "user": str, "password": str,
             "tls": (dict, type(None))},
    "wifi": ({"ssid": str, "password": str}, type(None)),
    "homeassistant": (str, type(None)),
}
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "an object",
          list: "a list", type(None): "null"}


def _line(b, i):
    """The 1-based line of byte offset ``i`` in ``b``."""
    return b.count(b"\n", 0, i) + 1


def _key_at(b, i):
    """The innermost key whose member holds offset ``i`` (its name, "" at the top): the
    last ``"name":`` before ``i`` at the open depth."""
    depth, j, keys = 0, 0, [""]
    while j < i and j < len(b):
        c = b[j]
        if c == 0x22:  # a string: skip it, and note it if a colon follows
            k = j + 1
            while k < len(b) and b[k] != 0x22:
                k += 2 if b[k] == 0x5C else 1
            name = b[j + 1:k]
            m = k + 1
            while m < len(b) and b[m] in b" \t\r\n":
                m += 1
            if m < len(b) and b[m] == 0x3A and depth:
                keys[depth - 1] = name.decode()
            j = k + 1
            continue
        if c == 0x7B or c == 0x5B:
            depth += 1
            keys.append("")
        elif c == 0x7D or c == 0x5D:
            depth -= 1
            keys.pop()
        j += 1
    return ".".join(k for k in keys[:depth] if k)


def _find(b, path):
    """The line where key ``path`` ("mqtt.port") is written, 1 if not found."""
    i = 0
    for name in path.split("."):
        k = b.find(b'"' + name.encode() + b'"', i)
        if k < 0:
            return 1
        i = k
    return _line(b, i)


def _type_ok(value, want):
    if isinstance(want, tuple):
        return any(_type_ok(value, w) for w in want)
    if isinstance(want, dict):
        return isinstance(value, dict)
    if want is int or want is float:  # true is no number here
        return not isinstance(value, bool) and isinstance(value, (int, float) if want is float else int)
    return isinstance(value, want)


def _describe(want):
    if isinstance(want, tuple):
        return " or ".join(_describe(w) for w in want)
    return "an object" if isinstance(want, dict) else _NAMES[want]


def _check(value, schema, path, fail):
    for name, want in schema.items():
        if name not in value:
            continue
        key = path + name
        v = value[name]
        if not _type_ok(v, want):
            fail(key, "must be %s, not %s" % (_describe(want), _NAMES.get(type(v), type(v).__name__)))
        shape = want if isinstance(want, dict) else None
        if isinstance(want, tuple):
            shape = next((w for w in want if isinstance(w, dict)), None)
        if shape is not None and isinstance(v, dict):
            _check(v, shape, key + ".", fail)
    port = value.get("port") if path == "mqtt." else None
    if port is not None and not 0 < port < 65536:
        fail("mqtt.port", "must be a port number, 1 to 65535")


def parse(b, name="config.json"):
    """The settings in bytes ``b`` (a dict); ValueError naming ``name``, the line and the key."""
    try:
        strict.check(b)
    except ValueError as e:
        msg = str(e)
        at = int(msg.rsplit(" ", 1)[-1]) if msg.rsplit(" ", 1)[-1].isdigit() else 0
        key = _key_at(b, at)
        raise ValueError('%s line %d%s: %s' % (name, _line(b, at), ' (key "%s")' % key if key else "", msg))
    value = strict.loads(b)

    def fail(key, why):
        raise ValueError('%s line %d (key "%s"): %s' % (name, _find(b, key), key, why))

    if not isinstance(value, dict):
        raise ValueError("%s line 1: must be a JSON object ({...}), not %s" % (name, _NAMES.get(type(value), "that")))
    _check(value, SCHEMA, "", fail)
    return value


def load(path="config.json"):
    """The settings in the file at ``path``; ValueError naming it, the line and the key."""
    with open(path, "rb") as f:
        b = f.read()
    return parse(b, path)


def load_once(path="config.json"):
    """``load``, then this module and rill.strict unloaded (an app reads its config once)."""
    import sys

    loaded = [n for n in ("rill.config", "rill.strict") if n in sys.modules and n != __name__]
    try:
        return load(path)
    finally:
        for name in ("rill.config", "rill.strict"):
            if name not in loaded:
                sys.modules.pop(name, None)
