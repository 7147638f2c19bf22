"""MQTT 3.1.1 packets, encoded into and decoded from the caller's buffers. No I/O.

The wire format for the session (session.py) and the outbox (outbox.py): the PUBLISH
header is written only by ``put_publish``. Encoders that run per message
(``put_publish``; the PUBACK is written where it is queued) fill a preallocated
bytearray and allocate nothing; those that run once (CONNECT, SUBSCRIBE) are in start.py,
the setup code, and return a new bytearray. Decoding reads fixed headers in place:
``header`` returns ``remaining << 3 | header_length`` (one small int, no tuple: nothing
allocated per packet on the receive path); the opcodes received are session.py's.
"""
from micropython import const

_PUBLISH = const(0x30)  # low nibble: DUP 0x08, QoS << 1, RETAIN 0x01 (the opcodes received: session.py)
SUB_PID = const(0xFFFF)  # SUBSCRIBE's packet id: the outbox's ids wrap below it, so a SUBACK never collides
PINGREQ = b"\xc0\x00"


class ProtocolError(OSError):
    """The broker sent something that is not MQTT 3.1.1: the connection is dropped."""


class Refused(Exception):
    """CONNACK with a non-zero return code (``args[0]``); diag.REFUSALS names it."""


def fail(n, *a):
    """The exception for error ``n`` of diag.ERRORS, its message formatted with ``a``: the
    texts are loaded only when something fails."""
    from .diag import error

    return error(n, *a)


def publish_size(n, size, qos):
    """Total bytes of a PUBLISH with an ``n``-byte topic and a ``size``-byte payload."""
    rem = 2 + n + size + (2 if qos else 0)
    return 1 + (1 if rem < 0x80 else 2 if rem < 0x4000 else 3 if rem < 0x200000 else 4) + rem


def put_publish(buf, pos, topic, payload, flags):
    """Write a whole PUBLISH at ``buf[pos]`` (room: ``publish_size``); ``flags`` is its low
    nibble, ``qos << 1 | retain``. A QoS 1 packet id is left 0: the outbox writes it on
    each (re)transmission. Returns the index of that field (QoS 1) or of the payload.
    Allocates nothing; runs per message, so it is written out in full."""
    tl = len(topic)
    pl = len(payload)
    buf[pos] = _PUBLISH | flags
    n = 2 + tl + pl + (2 if flags & 6 else 0)
    pos += 1
    while n > 0x7F:
        buf[pos] = (n & 0x7F) | 0x80
        n >>= 7
        pos += 1
    buf[pos] = n
    buf[pos + 1] = tl >> 8
    buf[pos + 2] = tl & 0xFF
    pos += 3
    j = pos + tl
    buf[pos:j] = topic
    if flags & 6:
        buf[j] = buf[j + 1] = 0
        buf[j + 2:j + 2 + pl] = payload
    else:
        buf[j:j + pl] = payload
    return j


def header(buf, pos, end):
    """The fixed header at ``buf[pos:end]``: ``remaining << 3 | header_length``, or -1
    while it is incomplete. Raises ProtocolError on a length over four bytes."""
    hl = 1
    rem = 0
    shift = 0
    while True:
        if pos + hl >= end:
            return -1
        c = buf[pos + hl]
        hl += 1
        rem |= (c & 0x7F) << shift
        if not c & 0x80:
            return rem << 3 | hl
        shift += 7
        if hl > 4:
            raise fail(0)


def publish_qos(code):
    """QoS of a PUBLISH (``code``: its first byte); ProtocolError for QoS 2, which rill
    never subscribes with."""
    qos = (code >> 1) & 3
    if qos > 1:
        raise fail(1, qos)
    return qos
