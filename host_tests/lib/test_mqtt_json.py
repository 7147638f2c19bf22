"""Strict inbound JSON, identical on both runtimes: one table of payloads and verdicts.

A payload is either rejected (ValueError: a dead letter) or decoded to exactly the
expected value, on CPython and on MicroPython alike. Also: the shape check treats bool
as no number on both, and a rejected payload is one console line and a dead letter."""
from rill.mqtt import JSON, _prep
from rill.mqtt.bridge import Inbox
from rill.mqtt.inbound import Inbound
from testkit import heap_locked

BAD = None  # the verdict: rejected

TABLE = [
    (b'{"led":true}', {"led": True}),
    (b' {"led" : false , "interval_ms" : 500 } ', {"led": False, "interval_ms": 500}),
    (b'{"threshold_c":26.5}', {"threshold_c": 26.5}),
    (b'{}', {}),
    (b'[]', []),
    (b'[[[]]]', [[[]]]),
    (b'0', 0),
    (b'-0', 0),
    (b'-12', -12),
    (b'1.5e3', 1500.0),
    (b'2E-2', 0.02),
    (b'1e+2', 100.0),
    (b'true', True),
    (b'null', None),
    (b'"a"', "a"),
    (b'"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\/\b\f\n\r\t'),
    (b'"\\u00e9\\u20AC"', "\u00e9\u20ac"),
    ('"é€𝄞"'.encode(), "é€𝄞"),
    (b'{"a":{"b":[1,2,{"c":null}]}}', {"a": {"b": [1, 2, {"c": None}]}}),
    (b'\t\r\n[1]\n', [1]),
    (b'[' * 16 + b']' * 16, [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]),
    (b'{"a":1,"a":2}', {"a": 2}),
    # rejected: what RFC 8259 rejects
    (b'{"led":true "interval_ms":1}', BAD),  # missing comma
    (b'[1 2]', BAD),
    (b'{"a":1,}', BAD),
    (b'[1,]', BAD),
    (b'[,1]', BAD),
    (b'{,}', BAD),
    (b'{"a" 1}', BAD),
    (b'{"a"}', BAD),
    (b'{a:1}', BAD),
    (b"{'a':1}", BAD),
    (b'01', BAD),
    (b'-01', BAD),
    (b'00', BAD),
    (b'1.', BAD),
    (b'.5', BAD),
    (b'+1', BAD),
    (b'1e', BAD),
    (b'1e+', BAD),
    (b'-', BAD),
    (b'0x10', BAD),
    (b'NaN', BAD),
    (b'Infinity', BAD),
    (b'tru', BAD),
    (b'True', BAD),
    (b'nul', BAD),
    (b'nulls', BAD),
    (b'', BAD),
    (b'   ', BAD),
    (b'1 2', BAD),
    (b'{}{}', BAD),
    (b'"abc', BAD),
    (b'"\\x41"', BAD),
    (b'"\\u12"', BAD),
    (b'"\\u12G4"', BAD),
    (b'"a\x01b"', BAD),  # a control character inside a string
    (b'"tab\there"', BAD),
    (b'[1]]', BAD),
    (b'{"a":1]', BAD),
    (b'[1}', BAD),
    (b'\xef\xbb\xbf{}', BAD),  # a byte order mark
    # rejected: invalid UTF-8
    (b'"\xc0\xaf"', BAD),  # overlong "/"
    (b'"\xe0\x80\xaf"', BAD),  # overlong, 3 bytes
    (b'"\xf0\x80\x80\xaf"', BAD),  # overlong, 4 bytes
    (b'"\xed\xa0\x80"', BAD),  # an encoded surrogate
    (b'"\xf4\x90\x80\x80"', BAD),  # above U+10FFFF
    (b'"\xff"', BAD),
    (b'"\x80"', BAD),  # a lone continuation byte
    (b'"\xe2\x82"', BAD),  # truncated
    (b'"\xc3"', BAD),
    # rejected: decoded differently by the two runtimes' json
    (b'"\\ud83d\\ude00"', BAD),  # a surrogate pair escape: send the character as UTF-8
    (b'"\\udc00"', BAD),
    (b'[' * 17 + b']' * 17, BAD),  # deeper than strict.MAX_DEPTH
    (b'[' * 5000, BAD),  # deep nesting costs no stack and no heap
]


def test_the_table_has_the_same_verdicts_on_both_runtimes():
    assert len(TABLE) >= 50
    wrong = []
    for payload, want in TABLE:
        try:
            got = JSON.decode(memoryview(payload))
        except ValueError:
            got = BAD
        if got != want or type(got) is not type(want):
            wrong.append((payload, want, got))
    assert not wrong, wrong


def test_strict_check_allocates_nothing_on_accepted_payloads():
    from rill.strict import check

    payload = b'{"led":true,"interval_ms":500,"t":[1.5,-2e3,null],"s":"\\u00e9\xc3\xa9"}'
    check(payload)
    heap_locked(lambda: check(payload))


class FakeGraph:
    def __init__(self, types):
        from rill import DeadLetters

        self.records = {k: type("R", (), {"type": t})() for k, t in types.items()}
        self.dead_letters = DeadLetters(8)
        self.pushed = []

    def push(self, key, value):
        self.pushed.append((key, value))


def test_rejected_payloads_are_one_console_line_a_dead_letter_and_a_count():
    link = Inbound("d/cmd", "cmd")
    link.bind("d")
    inbox = Inbox("mqtt", [link])
    g = FakeGraph({"cmd": {"interval_ms": int, "led": bool}})
    _prep("start.bind", inbox, g)  # as the bridge's task does when it starts
    lines = []
    inbox.log = lines.append
    inbox.deliver(memoryview(b"d/cmd"), memoryview(b'{"interval_ms":500,"led":true}'), 1)
    inbox.deliver(memoryview(b"d/cmd"), memoryview(b'{"interval_ms":true,"led":true}'), 1)  # bool is no int
    inbox.deliver(memoryview(b"d/cmd"), memoryview(b'{"led":true "interval_ms":1}'), 1)
    inbox.deliver(memoryview(b"d/other"), memoryview(b'1'), 0)
    assert g.pushed == [("cmd", {"interval_ms": 500, "led": True})]
    assert inbox.rejected["shape"] == 1 and inbox.rejected["malformed"] == 1 and inbox.rejected["unrouted"] == 1
    assert len(lines) == 3 and "shape" in lines[0] and "not strict JSON" in lines[1], lines
    reasons = [e[2] for e in g.dead_letters.entries()]
    assert len(reasons) == 3 and "mqtt malformed" in reasons[1], reasons
