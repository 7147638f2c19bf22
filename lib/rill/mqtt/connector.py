"""Bridge: a pipeline's records to MQTT topics and back, inside the pipeline's loop.

    mq = Bridge("broker.local", device="greenhouse-1")
    mq.publish("temp", "site/{device}/temp", qos=1)          # record -> topic
    mq.subscribe("site/{device}/cmd/#", "cmd", max_size=128)  # topic -> record
    mq.attach(p)      # before p.build(): taps, sources and the "mqtt" state record

Outbound values are encoded when their tap sees them (with the envelope, see
codecs.py; give the record a Ring so that a burst is sent whole: a tap on the default
Latest buffer sees only the newest value) and wait in the Outbox until the broker has
them; QoS 1 keeps a window of
packets in flight and survives reconnects (DUP retransmission). Inbound payloads
land in one fixed receive buffer; oversize, malformed, wrong-shape or refused values
become dead letters with a reason and a counter, never exceptions.

Connection lifecycle: connect with a deadline; keepalive pings; a broker silent for
1.5 keepalives is declared dead; reconnect with capped, jittered exponential backoff;
re-subscribe; last will ``offline`` and birth ``online``, both retained, on the
status topic; ``await close()`` drains (bounded), publishes ``offline`` and sends
DISCONNECT. A broker that refuses the credentials is retried ``auth_retries`` times
with backoff, then the bridge stops in state ``refused`` with a clear ``error``.
"""
import asyncio
import time

from micropython import const

from ..backoff import Backoff
from ..wake import IoWait, Signal
from .codecs import JSON
from .links import Inbound, Outbound
from .outbox import DROP_OLDEST, Outbox
from .seq import Sequence
from .wire import MQTTException, Wire

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff
ticks_add = time.ticks_add

_RX_BUDGET = const(512)  # bytes handled per turn before yielding to other tasks
_SUB_PID = const(0xFFFF)  # outbox ids wrap below this, so SUBACK never collides

REFUSALS = {1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
            4: "bad user name or password", 5: "not authorized"}


class Bridge:
    """One broker connection for one device.

    ``outbox``/``outbox_bytes``/``policy``: store-and-forward bounds (entries, arena
    bytes; default 96 per entry) and overflow policy; ``window``: QoS 1 packets in
    flight; ``tls``: None or {"cafile": PEM or DER file, "server_hostname": name};
    ``seq``: a Sequence (pass ``Sequence(path)`` so numbering survives reboots);
    ``status_topic``: retained ``online``/``offline`` (birth and last will).
    """

    def __init__(self, server, device, port=0, user=None, password=None, tls=None,
                 keepalive=30, client_id=None, clean=True, outbox=64, outbox_bytes=None,
                 policy=DROP_OLDEST, window=16, status_topic="devices/{device}/status",
                 connect_timeout_ms=5000, backoff_ms=(250, 30000), auth_retries=3,
                 seq=None, name="mqtt"):
        self.device = device
        self.name = name
        self.status_topic = status_topic.replace("{device}", device).encode()
        self.keepalive = keepalive
        self.clean = clean
        self.connect_timeout_ms = connect_timeout_ms
        self.backoff = Backoff(*backoff_ms)
        self.auth_retries = auth_retries
        self.seq = seq if seq is not None else Sequence()
        self.outbox = Outbox(outbox, outbox_bytes or outbox * 96, policy, window)
        self._wire_args = (client_id or "rill-" + device, server, port, user, password, keepalive, tls)
        self.wire = None
        self.outs = []
        self.ins = []
        self.state = "idle"
        self.error = None
        self.connects = 0
        self.attempts = 0
        self.failures = 0
        self.refusals = 0
        self.received = 0
        self.duplicates = 0
        self.rejected = {"oversize": 0, "malformed": 0, "shape": 0, "unrouted": 0, "refused": 0, "encode": 0}
        self.dead = None  # DeadLetters: the graph's once bound
        self._push = None
        self._types = {}
        self._emit = None
        self._tx = Signal()
        self._stopping = False
        self._closed = None
        self._end = None
        self._err = None

    # -- declaration ---------------------------------------------------------------------

    def publish(self, key, topic, codec=JSON, qos=1, retain=False, envelope=True):
        """Publish every value of record ``key`` to ``topic`` (template, see links.py)."""
        link = Outbound(key, topic, codec, qos, retain, envelope)
        link.bind(self.device)
        self.outs.append(link)
        return link

    def subscribe(self, filter, key, codec=JSON, max_size=256, qos=1, envelope=False, dedupe=False):
        """Write messages on ``filter`` to record ``key`` (a source the bridge pushes to)."""
        link = Inbound(filter, key, codec, max_size, qos, envelope, dedupe)
        link.bind(self.device)
        self.ins.append(link)
        return link

    def attach(self, p, state=None):
        """Wire the bridge into Pipeline ``p`` (before ``build()``): a tap per outbound
        record, a pushed source per inbound record, and record ``state`` (default: the
        bridge's name) holding the connection state, written by the bridge's own task."""
        for link in self.outs:
            p.tap(link.key, self._tap(link), name="%s>%s" % (self.name, link.key))
        keys = []
        for link in self.ins:
            if link.key not in keys:
                keys.append(link.key)
                p.source(link.key, name="%s<%s" % (self.name, link.key))
        state = state or self.name
        p.record(state, str)
        p.source(state, task=self._task, name=self.name, requires="network")
        return self

    def bind(self, graph):
        """Deliver inbound values to ``graph`` and its dead letters (attach() does this)."""
        self._push = graph.push
        self.dead = graph.dead_letters
        for link in self.ins:
            rec = graph.records.get(link.key)
            if rec is not None:
                self._types[link.key] = rec.type

    async def _task(self, emit):
        graph = emit.graph  # a task source is handed its own node, which knows its graph
        self.bind(graph)
        self._emit = emit
        await self.run()

    def _tap(self, link):
        def send(value):
            self.send(link, value)

        return send

    # -- outbound ------------------------------------------------------------------------

    def send(self, link, value):
        """Encode ``value`` for ``link`` into the outbox; False if it was dropped."""
        try:
            topic = link.topic(value)
            if link.envelope:
                payload = link.codec.wrap(self.device, self.seq.next(), value)
            else:
                payload = link.codec.encode(value)
        except Exception as e:
            self._reject("encode", link.key, value, e)
            return False
        ok = self.outbox.put(topic, payload, link.qos, link.retain)
        self._tx.set()
        return ok

    # -- inbound (called by the Wire, from the receive task) -----------------------------

    def on_puback(self, pid):
        if self.outbox.ack(pid):
            self._tx.set()

    def on_suback(self, pid, codes):
        for c in codes:
            if c == 0x80:
                self.error = "broker refused a subscription"
                self._reject("refused", self.name, [l.template for l in self.ins], self.error)
                break

    def _route(self, topic):
        for link in self.ins:
            if link.match(topic):
                return link
        return None

    def on_oversize(self, topic, size):
        topic = bytes(topic)
        link = self._route(topic)
        self._reject("oversize", link.key if link else self.name, topic,
                     "%d bytes > receive buffer" % size)

    def on_publish(self, topic, payload, qos):
        topic = bytes(topic)
        link = self._route(topic)
        if link is None:
            self._reject("unrouted", self.name, topic, "no inbound link")
            return
        key = link.key
        if len(payload) > link.max_size:
            self._reject("oversize", key, topic, "%d bytes > max_size %d" % (len(payload), link.max_size))
            return
        try:
            if link.envelope:
                dev, seq, value = link.codec.unwrap(payload)
                if link.dedupe and not link.fresh(dev, seq):
                    self.duplicates += 1
                    return
            else:
                value = link.codec.decode(payload)
        except Exception as e:
            self._reject("malformed", key, bytes(payload[:32]), e)
            return
        want = self._types.get(key)
        if want is not None and not _conforms(value, want):
            self._reject("shape", key, value, "not a %s" % _type_name(want))
            return
        self.received += 1
        if self._push is None:
            return
        try:
            self._push(key, value)
        except Exception as e:
            self._reject("refused", key, value, e)

    def _reject(self, kind, key, value, why):
        self.rejected[kind] += 1
        if self.dead is None:
            from ..buffers import DeadLetters

            self.dead = DeadLetters(8)
        if isinstance(why, Exception):
            why = "%s: %s" % (type(why).__name__, why)
        self.dead.add(key, value, "mqtt %s: %s" % (kind, why))

    # -- connection ----------------------------------------------------------------------

    def _set_state(self, state):
        if state != self.state:
            self.state = state
            if self._emit is not None:
                try:
                    self._emit(state)
                except Exception:
                    pass

    def _new_wire(self):
        cid, server, port, user, password, keepalive, tls = self._wire_args
        rx = 512
        for link in self.ins:
            rx = max(rx, link.max_size + len(link.filter) + 64)
        ctl = 160 + 2 * len(self.status_topic) + len(cid) + len(user or "") + len(password or "")
        for link in self.ins:
            ctl += 3 + len(link.filter)
        w = Wire(cid, server, port, user, password, keepalive, tls, rx, ctl)
        w.set_last_will(self.status_topic, b"offline", retain=True, qos=1)
        w.handler = self
        return w

    async def run(self):
        """Keep the connection up until close() or a final refusal. Never raises, except
        CancelledError (graph.stop()), after a best-effort goodbye."""
        self._stopping = self._said_bye = False
        self._closed = asyncio.Event()
        if self.wire is None:
            self.wire = self._new_wire()
        try:
            while not self._stopping:
                if not await self._attempt():
                    return
                if self._stopping:
                    break
                self.failures += 1
                if self.failures % 8 == 0:
                    self.wire.addr = None  # resolve the name again now and then
                self._set_state("backoff")
                until = ticks_add(ticks_ms(), self.backoff.next())
                while not self._stopping and ticks_diff(until, ticks_ms()) > 0:
                    await asyncio.sleep_ms(min(100, max(0, ticks_diff(until, ticks_ms()))))
        finally:
            if self.state != "refused":
                self._set_state("closed")
            self._closed.set()

    async def _attempt(self):
        """One connection: connect, then run the session until it ends. False when the
        broker refused the credentials for the last time."""
        w = self.wire
        self._set_state("connecting")
        self.attempts += 1
        t_online = None
        try:
            await w.connect(self.clean, self.connect_timeout_ms)
            self.connects += 1
            self.refusals = 0
            self._set_state("online")
            t_online = ticks_ms()
            await self._session()
            if self._stopping and not self._said_bye:
                self._goodbye()  # close() ran out of time: best effort, never blocks
        except MQTTException as e:
            rc = e.args[0]
            self.error = "broker refused the connection: %s (CONNACK %d)" % (REFUSALS.get(rc, "?"), rc)
            if rc in (2, 4, 5):
                self.refusals += 1
                if self.refusals > self.auth_retries:
                    self._set_state("refused")
                    return False
        except Exception as e:  # OSError, ProtocolError, timeouts: retry after a backoff
            self.error = "%s: %s" % (type(e).__name__, e)
        except BaseException:  # cancelled
            if t_online is not None:
                self._goodbye()
            raise
        finally:
            w.close()
            self.outbox.rewind()
            if t_online is not None and ticks_diff(ticks_ms(), t_online) > 10000:
                self.backoff.reset()  # that session lived a while: start the backoff over
        return True

    def _goodbye(self):
        w = self.wire
        if w.sock is not None and not self.outbox.writing():  # never inside a half-sent packet
            self._said_bye = True
            w.publish(self.status_topic, b"offline", retain=True)
            w.disconnect()

    async def close(self, timeout_ms=2000):
        """Stop: deliver what the outbox holds (for up to ``timeout_ms``), publish
        ``offline``, send DISCONNECT, and return once run() has ended. Returns the
        number of entries left undelivered (they stay in the outbox)."""
        self._stopping = True
        self._close_by = ticks_add(ticks_ms(), timeout_ms)
        if self._closed is None:
            return self.outbox.pending()
        while not self._closed.is_set():
            if ticks_diff(ticks_ms(), self._close_by) > 200 and self._end is not None:
                self._end.set()  # the goodbye could not get out in time: end the session
            self._tx.set()
            await asyncio.sleep_ms(10)
        return self.outbox.pending()

    async def _session(self):
        w = self.wire
        w.publish(self.status_topic, b"online", retain=True)
        if self.ins:
            w.subscribe_many([(l.filter, l.qos) for l in self.ins], _SUB_PID)
        self._err = None
        end = self._end = asyncio.Event()
        tasks = [asyncio.create_task(self._guard(self._rx_loop(IoWait(w.sock)))),
                 asyncio.create_task(self._guard(self._tx_loop(IoWait(w.sock, True)))),
                 asyncio.create_task(self._guard(self._keepalive()))]
        self._tx.set()
        try:
            await end.wait()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except BaseException:
                    pass
        if self._err is not None:
            raise self._err

    async def _guard(self, coro):
        try:
            await coro
        except Exception as e:
            if self._err is None:
                self._err = e
        self._end.set()

    async def _rx_loop(self, readable):
        w = self.wire
        while True:
            n = w.pump(_RX_BUDGET)
            if w.stalled:  # replies are backed up behind a full socket
                self._tx.set()
                await asyncio.sleep_ms(1)
            elif n is None:
                if w.ctl_pending():
                    self._tx.set()
                await readable
            elif n >= _RX_BUDGET:
                if w.ctl_pending():
                    self._tx.set()
                await asyncio.sleep_ms(0)

    async def _tx_loop(self, writable):
        w = self.wire
        ob = self.outbox
        while True:
            if w.ctl_pending() and not ob.writing():
                if not w.flush_ctl():
                    await writable
                continue
            if self._stopping and (ob.pending() == 0 or ticks_diff(ticks_ms(), self._close_by) > 0):
                await self._say_goodbye(writable)
                return
            mv = ob.region()
            if mv is None:
                await self._tx
                continue
            n = w.write(mv)
            ob.wrote(n)
            if n < len(mv):
                await writable
            else:
                await asyncio.sleep_ms(0)  # let the producers run between writes

    async def _say_goodbye(self, writable):
        w = self.wire
        self._said_bye = True
        w.publish(self.status_topic, b"offline", retain=True)  # DISCONNECT cancels the will
        w.queue_disconnect()
        while not w.flush_ctl() and ticks_diff(ticks_ms(), self._close_by) < 200:
            await asyncio.sleep_ms(5)

    async def _keepalive(self):
        w = self.wire
        ka = self.keepalive * 1000
        if not ka:
            return
        half = ka // 2
        pinged = ticks_ms()
        while True:
            await asyncio.sleep_ms(max(50, ka // 8))
            now = ticks_ms()
            quiet = ticks_diff(now, w.last_rx)
            if quiet > ka + half:
                raise OSError(110, "broker silent for %d ms" % quiet)
            if ticks_diff(now, pinged) >= half and (quiet >= half or ticks_diff(now, w.last_tx) >= half):
                if w.ping():
                    pinged = now
                    self._tx.set()

    # -- inspection ----------------------------------------------------------------------

    def stats(self):
        d = self.outbox.stats()
        d.update(state=self.state, error=self.error, connects=self.connects, attempts=self.attempts,
                 failures=self.failures, received=self.received, duplicates=self.duplicates,
                 rejected=self.rejected)
        return d


def _conforms(value, spec):
    from ..shapes import conforms

    return conforms(value, spec)


def _type_name(spec):
    from ..shapes import type_name

    return type_name(spec)
