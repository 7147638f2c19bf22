"""What the bridge's task runs once when it starts (see prep.py, the rest of the setup
code): the inbox bound to the graph, the session and the packets it sends on each
connection (CONNECT, birth, SUBSCRIBE, goodbye: built once, a reconnect sends the same
bytes). Loaded by ``rill.mqtt._prep`` for the call and unloaded after: apart from
prep.py so that what is loaded while the pipeline already runs stays small.
"""
from micropython import const

from ..buffers import Signal
from .packet import PINGREQ, SUB_PID, publish_size, put_publish
from .session import Session

_ACKS = const(64)  # control queue room for 16 PUBACKs (inbound QoS 1; rx waits when it is full)
_NEXT = const(27)  # the goodbye's ',"next":N' at its longest (N < 2**63, as envelopes: 19 digits)


def start(self, node):
    """The bridge's task starts (``node``: its node, which knows its graph; None: run()
    without attach()): bind the inbox to the graph, make the session."""
    if node is not None:
        bind(self.inbox, node.graph)
        self.node = node
        self.lineage = node.graph.lineage
    if self.session is None:
        self.session = new_session(self)


def bind(inbox, graph):
    """The inbox delivers to ``graph``: its push, dead letters and the records' types."""
    inbox._push = graph.push
    inbox.dead = graph.dead_letters
    for link in inbox.links:
        rec = graph.records.get(link.key)
        if rec is not None:
            inbox._types[link.key] = rec.type


def _status(self, word):
    """(the message, its retained QoS 0 PUBLISH on the status topic) for ``word``: the
    birth says where the boot's numbers began (``"first"``); the last will cannot say
    where they end (it is fixed at CONNECT, and fires at a dropped connection too)."""
    seq = self.seq
    extra = b',"first":%d' % seq.first + self.birth if word == "online" else b""
    msg = b'{"status":"%s","boot":%d' % (word.encode(), seq.boot) + extra + b"}"
    st = self.status_topic
    buf = bytearray(publish_size(len(st), len(msg), 0))
    put_publish(buf, 0, st, msg, 1)
    return msg, buf


def new_session(self):
    """The session, its receive buffer fitting the largest declared inbound message (128
    bytes without any: acknowledgements and pings), its
    control queue what may be queued at once (bridge.py), and the packets it sends on
    each connection: built here once (the birth's build fields, the boot number, its first
    sequence number and the subscriptions do not change while the bridge runs); the
    goodbye's own is built by close.py when it is said, as it holds the next number."""
    if self.birth is None:
        self.birth = identity()
    rx = 512 if self.ins else 128  # publish-only: acks and pings (a stray PUBLISH is read through it)
    for link in self.ins:
        rx = max(rx, link.max_size + len(link.filter) + 64)
    sub = subscribe([(x.filter, x.qos) for x in self.ins], SUB_PID) if self.ins else None
    st = self.status_topic
    online = _status(self, "online")[1]
    offline = _status(self, "offline")[0]
    cid, keepalive, user, password = self._login
    hello = connect(cid, keepalive, self.clean, user, password, (st, offline, 1, True))
    most = publish_size(len(st), len(offline) + _NEXT, 0)  # the goodbye (close.py), "next" at its longest
    ctl = len(online) + most + 2 + len(PINGREQ) + _ACKS + (len(sub) if sub else 0)  # 2: the DISCONNECT
    s = session(self.transport, self.outbox, self.inbox, keepalive, rx, max(ctl, len(hello)),
                *self._timeouts, self.tx)
    s.hello = hello
    s.birth = (st, online)
    s.sub = sub
    s.goodbye = (st, offline[:-1], self.seq)  # close.py adds where the numbers ended: "next"
    return s


def identity():
    """The birth's build fields (rill.identity.birth): nothing without a build.json; else
    the module is loaded for it and unloaded again (unless it was loaded before)."""
    import os
    import sys

    try:
        os.stat("build.json")
        loaded = "rill.identity" in sys.modules
    except OSError:
        return b""
    try:
        from .. import identity

        return identity.birth()
    finally:
        if not loaded:
            sys.modules.pop("rill.identity", None)
            sys.modules["rill"].__dict__.pop("identity", None)


def session(transport, outbox, inbox, keepalive=30, rx_size=1024, ctl_size=512,
            ping_timeout_ms=None, ack_timeout_ms=None, tx=None):
    self = Session()
    self.t = transport
    self.outbox = outbox
    self.inbox = inbox
    self.keepalive = keepalive
    ka = keepalive * 1000
    self.ping_timeout = ping_timeout_ms or max(1000, ka // 2)
    self.ack_timeout = ack_timeout_ms or max(2000, ka)
    self.rx = bytearray(rx_size)
    self._rxv = memoryview(self.rx)
    self.start = self.pos = 0  # unparsed bytes are rx[start:pos]
    self.skip = 0  # bytes of an oversize PUBLISH still to throw away
    self.ctl = bytearray(ctl_size)
    self._ctlv = memoryview(self.ctl)
    self.head = self.tail = 0  # queued control bytes are ctl[head:tail]
    self.code = None  # the CONNACK's return code, once it came
    self.stalled = False  # rx parsing paused: no room to queue a PUBACK
    self.pongs = 0  # PINGRESPs received
    self.tx = tx or Signal()  # set when there is something to send
    self.stopping = False
    self.close_by = 0
    self.said_bye = False
    self.end = None
    self.error = None
    return self


# -- packets sent once per connection (packet.py has those sent per message) ------------------

def _len_size(n):
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3 if n < 0x200000 else 4


def _put_len(buf, i, n):
    while n > 0x7F:
        buf[i] = (n & 0x7F) | 0x80
        n >>= 7
        i += 1
    buf[i] = n
    return i + 1


def put_u16(buf, i, n):
    buf[i] = n >> 8
    buf[i + 1] = n & 0xFF
    return i + 2


def _put_str(buf, i, s):
    n = len(s)
    i = put_u16(buf, i, n)
    buf[i:i + n] = s
    return i + n


def connect(client_id, keepalive, clean, user=None, password=None, will=None):
    """A CONNECT packet; ``will`` is (topic, message, qos, retain) or None."""
    flags = 2 if clean else 0
    n = 10 + 2 + len(client_id)
    if will:
        n += 4 + len(will[0]) + len(will[1])
        flags |= 0x4 | (will[2] & 3) << 3 | (0x20 if will[3] else 0)
    if user is not None:
        n += 2 + len(user)
        flags |= 0x80
        if password is not None:
            n += 2 + len(password)
            flags |= 0x40
    buf = bytearray(1 + _len_size(n) + n)
    buf[0] = 0x10  # CONNECT
    i = _put_str(buf, _put_len(buf, 1, n), b"MQTT")
    buf[i] = 4  # protocol level: 3.1.1
    buf[i + 1] = flags
    i = _put_str(buf, put_u16(buf, i + 2, keepalive), client_id)
    if will:
        i = _put_str(buf, _put_str(buf, i, will[0]), will[1])
    if user is not None:
        i = _put_str(buf, i, user)
        if password is not None:
            _put_str(buf, i, password)
    return buf


def subscribe(filters, pid):
    """One SUBSCRIBE carrying every (filter, qos)."""
    n = 2
    for f, _ in filters:
        n += 3 + len(f)
    buf = bytearray(1 + _len_size(n) + n)
    buf[0] = 0x82  # SUBSCRIBE
    i = put_u16(buf, _put_len(buf, 1, n), pid)
    for f, q in filters:
        i = _put_str(buf, i, f)
        buf[i] = q
        i += 1
    return buf

