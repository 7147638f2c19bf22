"""The bridge's setup code: constructors, attach() (start.py has what runs when the
bridge's task starts, seqfile.py the sequence store's reading and writing). Loaded for
one call by ``rill.mqtt._prep`` and unloaded after (unless that call is nested in
another), so none of it stays in the heap while the bridge runs: the classes keep only
what runs every day. Allocates freely: it runs at setup, never per message.
"""
from ..buffers import Signal
from .bridge import Inbox, Outbound, tap, task
from .codecs import JSON
from .outbox import DROP_OLDEST, Outbox
from .seq import Sequence
from .session import Transport


def b(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode()


# -- Bridge ------------------------------------------------------------------------------

def bridge(self, server, device, port=0, user=None, password=None, tls=None,
           keepalive=30, client_id=None, clean=True, outbox=64, outbox_bytes=None,
           policy=DROP_OLDEST, window=16, status_topic="devices/{device}/status",
           connect_timeout_ms=5000, backoff_ms=(250, 30000, 300000), auth_retries=3,
           seq=".rill/{device}.seq", name="mqtt", ping_timeout_ms=None, ack_timeout_ms=None,
           spill=None, spill_path=".rill/{device}.spill"):
    from ..backoff import Backoff

    self.device = device
    self.name = name
    ota = _ota()
    if ota:  # a field-updatable board (rill.ota): its state stays at the root, whichever slot runs
        seq = "/" + seq if isinstance(seq, str) and seq[:1] != "/" else seq
        spill_path = "/" + spill_path if spill_path[:1] != "/" else spill_path
    self.status_topic = status_topic.replace("{device}", device).encode()
    self.clean = clean
    self.connect_timeout_ms = connect_timeout_ms
    self.backoff = Backoff(backoff_ms[0], backoff_ms[1], True, backoff_ms[2] if len(backoff_ms) > 2 else 300000)
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
    spill_log(self.outbox, spill_path.replace("{device}", device), spill)
    t = self.transport = Transport()
    if tls is not None:
        from . import tls as _tls

        _tls.check(tls)
    t.server = server
    t.port = port or (8883 if tls is not None else 1883)
    t.tls = tls
    t.addr = t.sock = None
    t.log = print
    self.outs = []
    self.ins = []
    self.addons = []  # e.g. rill.mqtt.discovery: attach(p) after attach(), online() after each CONNACK
    self.inbox = Inbox(name, self.ins)
    self._login = (b(client_id or "rill-" + device), keepalive, None if user is None else b(user),
                   None if password is None else b(password))
    self._timeouts = (ping_timeout_ms, ack_timeout_ms)
    self.session = None
    self.state = "idle"
    self.error = None
    self.connects = self.attempts = self.failures = self.refusals = self.memory_errors = 0
    self.node = None  # the bridge's node once its task runs: the state record is written through it
    self.lineage = None
    self.birth = None  # bytes added to the birth's JSON; None: the build's identity, at the first run()
    self.tx = Signal()  # the session's: set when the outbox has something to send
    self.closed = None
    if ota:
        import sys

        # the OTA receiver (rill.ota.receiver), imported by name: rill.ota ships only to a board
        # deployed with it (rill deploy --ota), not with every app that uses MQTT
        __import__("rill.ota.setup", None, None, ("attach",)).attach(self, subscribe)
        sys.modules.pop("rill.ota.setup", None)
        sys.modules["rill.ota"].__dict__.pop("setup", None)


def _ota():
    """True on a board provisioned for OTA updates (rill.ota: /.ota/key exists)."""
    import os

    try:
        os.stat("/.ota/key")
        return True
    except OSError:
        return False


def spill_log(ob, path, size):
    """Where the full outbox ``ob`` spills (spill.py): ``size`` bytes of flash at ``path``;
    None: a quarter of the free flash, at most 256 KB (none if that is under 8 KB); 0:
    none (a full outbox drops per its policy). A log left by a previous boot is opened
    now, so its records go first."""
    if size is None:
        import os

        d = path.rpartition("/")[0]
        try:
            try:
                st = os.statvfs(d or ".")
            except OSError:  # its folder (.rill/) not made yet: the filesystem it will be on
                st = os.statvfs("/" if path[:1] == "/" else ".")
            size = min(st[1] * st[4] // 4, 256 * 1024)
        except (OSError, AttributeError):  # no filesystem
            size = 0
        if size < 8192:
            size = 0
    if not size:
        return
    ob.spill = (path, size)
    from . import _prep

    if _prep("seqfile.segments", path):  # a previous boot's records: sent first
        from .spill import Spill

        Spill(ob, path, size)
    # else no log yet: spill.py is not loaded (nor its names interned) until the outbox first fills


def attach(self, p, state=None):
    for link in self.outs:
        p.tap(link.key, tap(self, link), name="%s>%s" % (self.name, link.key))
    keys = []
    for link in self.ins:
        if link.key not in keys:
            keys.append(link.key)
            p.source(link.key, name="%s<%s" % (self.name, link.key))
    state = state or self.name
    p.record(state, str)
    p.source(state, task=task(self), name=self.name, requires="network")
    return self


# -- the parts -----------------------------------------------------------------------------

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
    w = 2 if size < 0x10000 else 4  # offsets and lengths within the arena: 2 bytes each when they fit
    self.index = array("H" if w == 2 else "I", bytes(w * capacity))
    self._len = array("H" if w == 2 else "I", bytes(w * capacity))
    self._pido = array("H", bytes(2 * capacity))  # offset of the packet id, 0 for QoS 0
    self.pid = array("H", bytes(2 * capacity))
    self.state = bytearray(capacity)  # per slot: queued, in flight, done, dead (outbox.py)
    self.tail = 0  # oldest live slot
    self.count = 0  # live slots
    self._sent = 0  # live slots (from the tail) handed to the socket, region included
    self.pos = 0  # arena offset for the next entry
    self._busy = False  # a region is being written
    self._rgn = 0  # live slots of that region: the last _rgn of the _sent ones
    self.start = 0  # arena offset written up to
    self.end = 0
    self.inflight = 0
    self.next_pid = 1
    self.produced = 0
    self.dropped = 0  # every entry lost: evicted or refused before being acknowledged
    self.dropped_sent = 0  # of which already sent (not acknowledged): these may still arrive
    self.acked = 0
    self.replaced = 0  # queued retained entries superseded by a newer one (put(replace=True))
    self.spill = None  # (path, bytes): where a full outbox spills; then its Spill (spill.py); None: it drops


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


def publish(self, key, topic, codec=JSON, qos=1, retain=False, envelope=True):
    """Bridge.publish: the Outbound link, its topic template split into literal bytes and
    field names, {device} resolved (a template without fields is one fixed bytes)."""
    if qos not in (0, 1):
        raise ValueError("qos must be 0 or 1")
    link = Outbound()
    link.key = key
    link.template = topic
    link.codec = codec
    link.qos = qos
    link.retain = retain
    link.envelope = envelope
    link.fixed = link._parts = None
    topic = topic.replace("{device}", self.device)
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
    self.outs.append(link)
    if all(isinstance(p, bytes) for p in parts):
        link.fixed = b"".join(parts)
    else:
        link._parts = parts
    return link


def subscribe(self, filter, key, codec=JSON, max_size=256, qos=1, envelope=False, dedupe=False):
    """Bridge.subscribe: the Inbound link (inbound.py, imported here: only a device that
    subscribes pays for inbound routing, and it stays loaded to route)."""
    from .inbound import Inbound

    link = Inbound(filter, key, codec, max_size, qos, envelope, dedupe)
    link.bind(self.device)
    self.ins.append(link)
    return link
