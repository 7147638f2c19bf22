"""Strict JSON: accept exactly RFC 8259 text in valid UTF-8, before json.loads sees it.

Why it exists: MicroPython's ``json.loads`` is lenient. It applies what strict JSON
rejects (missing commas such as ``{"led":true "interval_ms":1}``, leading zeros,
overlong UTF-8), and CPython's differs from it, so the same payload could be a command
on one runtime and an error on the other. ``check`` walks the bytes once and raises
ValueError (with the offset) on anything RFC 8259 rejects, on invalid UTF-8, and on two
things the grammar allows but the runtimes decode differently: ``\\uD800``-``\\uDFFF``
escapes (send the character as UTF-8 instead) and nesting deeper than ``MAX_DEPTH``
(json.loads recurses on the C stack). What passes decodes to the same value on both.

Cost: no allocation on the accepting path (the nesting stack is one preallocated
``MAX_DEPTH``-byte buffer); about 1-2 us per byte on a board.
"""
from micropython import const

MAX_DEPTH = const(16)
_stack = bytearray(MAX_DEPTH)
_WS = b" \t\n\r"
_ESC = b'"\\/bfnrt'
_HEX = b"0123456789abcdefABCDEF"
_WORDS = (b"true", b"false", b"null")


def _fail(why, i):
    raise ValueError("not strict JSON: %s at %d" % (why, i))


def _ws(b, i, n):
    while i < n and b[i] in _WS:
        i += 1
    return i


def _digits(b, i, n):
    j = i
    while j < n and 0x30 <= b[j] <= 0x39:
        j += 1
    if j == i:
        _fail("digit", i)
    return j


def _number(b, i, n):
    if b[i] == 0x2D:  # -
        i += 1
    if i < n and b[i] == 0x30:  # a lone 0: no leading zeros
        i += 1
    else:
        i = _digits(b, i, n)
    if i < n and b[i] == 0x2E:  # .
        i = _digits(b, i + 1, n)
    if i < n and b[i] in b"eE":
        i += 1
        if i < n and b[i] in b"+-":
            i += 1
        i = _digits(b, i, n)
    return i


def _string(b, i, n):
    """``b[i]`` is the opening quote; the index after the closing one."""
    i += 1
    while i < n:
        c = b[i]
        i += 1
        if c == 0x22:
            return i
        if c == 0x5C:  # backslash
            if i < n and b[i] == 0x75:  # \uXXXX, no surrogates
                for k in range(1, 5):
                    if i + k >= n or b[i + k] not in _HEX:
                        _fail("escape", i)
                if b[i + 1] in b"dD" and b[i + 2] in b"89abcdefABCDEF":
                    _fail("surrogate escape", i)
                i += 5
            elif i < n and b[i] in _ESC:
                i += 1
            else:
                _fail("escape", i)
        elif c < 0x20:
            _fail("control char", i - 1)
        elif c >= 0x80:  # UTF-8: no overlongs (C0, C1, E0, F0), surrogates (ED) or > U+10FFFF
            if c < 0xC2 or c > 0xF4:
                _fail("UTF-8", i - 1)
            lo = 0xA0 if c == 0xE0 else 0x90 if c == 0xF0 else 0x80
            hi = 0x9F if c == 0xED else 0x8F if c == 0xF4 else 0xBF
            for _ in range(1 if c < 0xE0 else 2 if c < 0xF0 else 3):
                if i >= n or not lo <= b[i] <= hi:
                    _fail("UTF-8", i)
                i += 1
                lo, hi = 0x80, 0xBF
    _fail("unterminated", i)


def _key(b, i, n):
    """A member's key and its colon, from ``b[i]``: the index of its value."""
    if i >= n or b[i] != 0x22:
        _fail("key", i)
    i = _ws(b, _string(b, i, n), n)
    if i >= n or b[i] != 0x3A:
        _fail("':'", i)
    return _ws(b, i + 1, n)


def _literal(b, i, n):
    for word in _WORDS:
        k = len(word)
        if i + k <= n and b[i] == word[0]:
            for j in range(1, k):
                if b[i + j] != word[j]:
                    _fail("value", i)
            return i + k
    _fail("value", i)


def check(b):
    """Raise ValueError unless bytes ``b`` are one strict JSON text."""
    n = len(b)
    depth = 0
    i = _ws(b, 0, n)
    while True:  # here a value is expected
        if i >= n:
            _fail("value", i)
        c = b[i]
        if c == 0x7B or c == 0x5B:  # { [
            if depth == MAX_DEPTH:
                _fail("too deep", i)
            _stack[depth] = c
            depth += 1
            i = _ws(b, i + 1, n)
            if i < n and b[i] == c + 2:  # empty: } or ]
                depth -= 1
                i += 1
            else:
                if c == 0x7B:
                    i = _key(b, i, n)
                continue
        elif c == 0x22:
            i = _string(b, i, n)
        elif c == 0x2D or 0x30 <= c <= 0x39:
            i = _number(b, i, n)
        else:
            i = _literal(b, i, n)
        while True:  # after a value: a comma, a close, or the end
            i = _ws(b, i, n)
            if depth == 0:
                if i != n:
                    _fail("trailing data", i)
                return
            if i >= n:
                _fail("unterminated", i)
            top = _stack[depth - 1]
            if b[i] == 0x2C:  # ,
                i = _ws(b, i + 1, n)
                if top == 0x7B:
                    i = _key(b, i, n)
                break
            if b[i] != top + 2:
                _fail("',' or close", i)
            depth -= 1
            i += 1


def loads(payload):
    """The value of a strict JSON ``payload`` (bytes or memoryview): ``check``, then the
    runtime's json.loads (MicroPython's takes the memoryview, no copy); ValueError if not
    strict JSON."""
    check(payload)
    return _loads(payload)


try:
    from json import JSONDecodeError  # noqa: F401  (CPython: json.loads takes no memoryview)
except ImportError:
    from json import loads as _loads
else:
    from .cpython_compat import json_loads as _loads


def unwrap(d):
    """Codec Json's unwrap of the decoded envelope ``d``: (dev, seq, value), or ValueError."""
    if not isinstance(d, dict) or "seq" not in d or "dev" not in d or "v" not in d:
        raise ValueError("not an envelope")
    seq = d["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("bad seq")
    return d["dev"], seq, d["v"]
