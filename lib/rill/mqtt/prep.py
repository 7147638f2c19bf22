"""The bridge's setup code: constructors, attach(), the session and its packets (CONNECT,
birth, SUBSCRIBE, goodbye, built once: a reconnect sends the same bytes), the sequence
store's loading. Loaded for one call by ``rill.mqtt._prep`` and unloaded after (unless
that call is nested in another), so none of it stays in the heap while the bridge runs:
the classes keep only what runs every day. Allocates freely: it runs at setup, never
per message.
"""
import struct

from micropython import const

from ..wake import Signal
from .bridge import _runner, _sender
from .codecs import JSON
from .inbox import Inbox
from .outbox import DROP_OLDEST, Outbox
from .packet import DISCONNECT, PINGREQ, SUB_PID, publish_size, put_u16
from .seq import _FMT, Sequence, SequenceError, _check
from .session import Session
from .transport import Transport

_ACKS = const(64)  # control queue room for 16 PUBACKs (inbound QoS 1; rx waits when it is full)


def b(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode()


# -- Bridge ------------------------------------------------------------------------------

def bridge(self, server, device, port=0, user=None, password=None, tls=None,
           keepalive=30, client_id=None, clean=True, outbox=64, outbox_bytes=None,
           policy=DROP_OLDEST, window=16, status_topic="devices/{device}/status",
           connect_timeout_ms=5000, backoff_ms=(250, 30000), auth_retries=3,
           seq="{device}.seq", name="mqtt", ping_timeout_ms=None, ack_timeout_ms=None):
    from ..backoff import Backoff

    self.device = device
    self.name = name
    self.status_topic = status_topic.replace("{device}", device).encode()
    self.clean = clean
    self.connect_timeout_ms = connect_timeout_ms
    self.backoff = Backoff(*backoff_ms)
    self.auth_retries = auth_retries
    if isinstance(seq, str):
        path = seq.replace("{device}", device)
        try:
            seq = Sequence(path)
        except OSError as e:  # no (writable) filesystem; a corrupt store raises SequenceError
            print("%s: cannot keep %s (%s): sequence numbers restart at 0 on every boot" % (name, path, e))
            seq = None
    self.seq = seq if seq is not None else Sequence()
    self.outbox = Outbox(outbox, outbox_bytes or outbox * 96, policy, window)
    t = self.transport = Transport()
    if tls is not None:
        from . import tls as _tls

        _tls.check(tls)
    t.server = server
    t.port = port or (8883 if tls is not None else 1883)
    t.tls = tls
    t.addr = t.sock = t._poll = None
    t.log = print
    self.outs = []
    self.ins = []
    self.addons = []  # e.g. rill.mqtt.discovery: attach(p) in attach(), online() after each CONNACK
    self.inbox = Inbox(name, self.ins)
    self._login = (b(client_id or "rill-" + device), keepalive, None if user is None else b(user),
                   None if password is None else b(password))
    self._timeouts = (ping_timeout_ms, ack_timeout_ms)
    self.session = None
    self.state = "idle"
    self.error = None
    self.connects = self.attempts = self.failures = self.refusals = self.memory_errors = 0
    self._emit = None
    self._lineage = None
    self.birth = None  # bytes added to the birth's JSON; None: the build's identity, at the first run()
    self._tx = Signal()  # the session's: set when the outbox has something to send
    self._closed = None


def attach(self, p, state=None):
    for link in self.outs:
        p.tap(link.key, _sender(self, link), name="%s>%s" % (self.name, link.key))
    keys = []
    for link in self.ins:
        if link.key not in keys:
            keys.append(link.key)
            p.source(link.key, name="%s<%s" % (self.name, link.key))
    state = state or self.name
    for a in self.addons:
        a.attach(p)
    p.record(state, str)
    p.source(state, task=_runner(self), name=self.name, requires="network")
    return self


def start(self, emit):
    """The bridge's task starts (``emit``: its node, which knows its graph; None: run()
    without attach()): bind the inbox to the graph, make the session."""
    if emit is not None:
        self.inbox.bind(emit.graph)
        self._emit = emit
        self._lineage = emit.graph.lineage
    if self.session is None:
        self.session = new_session(self)


def _status(self, word):
    extra = self.birth if word == "online" and self.birth else b""
    return b'{"status":"%s","boot":%d' % (word.encode(), self.seq.boot) + extra + b"}"


def new_session(self):
    """The session, its receive buffer fitting the largest declared inbound message, its
    control queue what may be queued at once (bridge.py), and the packets it sends on
    each connection: built here once (the birth's build fields, the boot number and the
    subscriptions do not change while the bridge runs)."""
    if self.birth is None:
        self.birth = identity()
    rx = 512
    for link in self.ins:
        rx = max(rx, link.max_size + len(link.filter) + 64)
    sub = subscribe([(x.filter, x.qos) for x in self.ins], SUB_PID) if self.ins else None
    st = self.status_topic
    online = _status(self, "online")
    offline = _status(self, "offline")
    cid, keepalive, user, password = self._login
    hello = connect(cid, keepalive, self.clean, user, password, (st, offline, 1, True))
    ctl = (publish_size(len(st), len(online), 0) + publish_size(len(st), len(offline), 0)
           + len(DISCONNECT) + len(PINGREQ) + _ACKS + (len(sub) if sub else 0))
    s = session(self.transport, self.outbox, self.inbox, keepalive, rx, max(ctl, len(hello)),
                *self._timeouts, self._tx)
    s.hello = hello
    s.birth = (st, online)
    s.sub = sub
    s.goodbye = (st, offline)
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


# -- the parts -----------------------------------------------------------------------------

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
    self._rs = self._re = 0  # unparsed bytes are rx[_rs:_re]
    self.skip = 0  # bytes of an oversize PUBLISH still to throw away
    self.ctl = bytearray(ctl_size)
    self._ctlv = memoryview(self.ctl)
    self._cs = self._cn = 0  # queued control bytes are ctl[_cs:_cn]
    self.connack = None
    self.stalled = False  # rx parsing paused: no room to queue a PUBACK
    self.pongs = 0  # PINGRESPs received
    self.tx = tx or Signal()  # set when there is something to send
    self.stopping = False
    self.close_by = 0
    self.said_bye = False
    self.end = None
    self._err = None
    return self


def outbox(self, capacity=64, size=8192, policy=DROP_OLDEST, window=32, chunk=4096):
    from array import array

    if capacity < 1 or size < 16:
        raise ValueError("outbox too small")
    self.capacity = capacity
    self.size = size
    self.policy = policy
    self.window = window  # QoS 1 packets in flight at most
    self.chunk = chunk  # bytes per socket write at most (keeps each write short)
    self.buf = bytearray(size)
    self._mv = memoryview(self.buf)
    self._off = array("I", bytes(4 * capacity))
    self._len = array("I", bytes(4 * capacity))
    self._pido = array("H", bytes(2 * capacity))  # offset of the packet id, 0 for QoS 0
    self._pid = array("H", bytes(2 * capacity))
    self._st = bytearray(capacity)
    self._tail = 0  # oldest live slot
    self._count = 0  # live slots
    self._sent = 0  # live slots (from the tail) handed to the socket, region included
    self._wr = 0  # arena offset for the next entry
    self._busy = False  # a region is being written
    self._rgn = 0  # live slots of that region: the last _rgn of the _sent ones
    self._rg_pos = 0  # arena offset written up to
    self._rg_end = 0
    self.inflight = 0
    self.next_pid = 1
    self.produced = 0
    self.dropped = 0  # every entry lost: evicted or refused before being acknowledged
    self.dropped_sent = 0  # of which already sent (not acknowledged): these may still arrive
    self.acked = 0
    self.replaced = 0  # queued retained entries superseded by a newer one (put(replace=True))


def inbox(self, name, links):
    self.name = name
    self.links = links
    self.received = 0
    self.duplicates = 0
    self.rejected = {"oversize": 0, "malformed": 0, "shape": 0, "unrouted": 0, "refused": 0, "encode": 0,
                     "unsent": 0}
    self.error = None
    self.log = print  # one console line per rejection
    self.dead = None  # the graph's DeadLetters once bound
    self._push = None
    self._types = {}


def outbound(self, key, topic, codec=JSON, qos=1, retain=False, envelope=True):
    if qos not in (0, 1):
        raise ValueError("qos must be 0 or 1")
    self.key = key
    self.template = topic
    self.codec = codec
    self.qos = qos
    self.retain = retain
    self.envelope = envelope
    self.fixed = None
    self._parts = None


def bind(self, device):
    """Outbound.bind: the topic template split into literal bytes and field names,
    {device} resolved; a template without fields is one fixed bytes."""
    topic = self.template.replace("{device}", device)
    parts = []
    while "{" in topic:
        a = topic.index("{")
        e = topic.index("}", a)
        if a:
            parts.append(topic[:a].encode())
        parts.append(topic[a + 1:e])
        topic = topic[e + 1:]
    if topic:
        parts.append(topic.encode())
    if all(isinstance(p, bytes) for p in parts):
        self.fixed = b"".join(parts)
    else:
        self._parts = parts


# -- the sequence store ----------------------------------------------------------------------

def sequence(self, path=None, start=0, block=1000):
    self.path = path
    self.block = block
    self.n = start
    self.boot = 0
    self.gen = 0
    self._limit = None
    if path is not None:
        found = [_read(path, i) for i in (0, 1)]
        valid = [s for s in found if isinstance(s, tuple)]
        if valid:
            self.gen, self.boot, limit = max(valid)
            self.n = max(start, limit)
            self.boot += 1
        elif found[0] is not None and found[1] is not None:
            raise SequenceError("sequence store %s is corrupt: refusing to reuse numbers (remove %s.0 and "
                                "%s.1 to start again at 0)" % (path, path, path))
        self._reserve()


def _read(path, i):
    """(gen, boot, limit) of slot ``i``; None if absent, False if corrupt or empty."""
    try:
        with open("%s.%d" % (path, i), "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) != 20 or struct.unpack(">I", data[16:])[0] != _check(data[:16]):
        return False
    return struct.unpack(_FMT, data[:16])


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

