"""The errors of rill.config, loaded only when a config.json is refused: where in the
file the problem is (line, key) and what was wanted, as one sentence. An app whose
config is good never loads this module.
"""
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


def _describe(want):
    if isinstance(want, tuple):
        return " or ".join(_describe(w) for w in want)
    return "an object" if isinstance(want, dict) else _NAMES[want]


def syntax(b, name, e):
    """The ValueError for bytes ``b`` that rill.strict refused with ``e``."""
    msg = str(e)
    at = int(msg.rsplit(" ", 1)[-1]) if msg.rsplit(" ", 1)[-1].isdigit() else 0
    key = _key_at(b, at)
    return ValueError('%s line %d%s: %s' % (name, _line(b, at), ' (key "%s")' % key if key else "", msg))


def schema(b, name, key, value, want):
    """The ValueError for ``key`` holding ``value`` where the schema wants ``want``
    (None: the top level is not an object; "port": not a port number)."""
    if key is None:
        return ValueError("%s line 1: must be a JSON object ({...}), not %s"
                          % (name, _NAMES.get(type(value), "that")))
    why = ("must be a port number, 1 to 65535" if want == "port" else
           "must be %s, not %s" % (_describe(want), _NAMES.get(type(value), type(value).__name__)))
    return ValueError('%s line %d (key "%s"): %s' % (name, _find(b, key), key, why))
