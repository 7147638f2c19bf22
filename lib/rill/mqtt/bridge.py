"""Bridge: a pipeline's records to MQTT topics and back, inside the pipeline's loop.

    mq = Bridge("broker.local", device="greenhouse-1")
    mq.publish("temp", "site/{device}/temp", qos=1)          # record -> topic
    mq.subscribe("site/{device}/cmd/#", "cmd", max_size=128)  # topic -> record
    mq.attach(p)      # before p.build(): taps, sources and the "mqtt" state record

Outbound values are encoded when their tap sees them (with the envelope, see
codecs.py; give the record a Ring so that a burst is sent whole) and wait in the
Outbox until the broker has them; QoS 1 keeps a window of packets in flight and
survives reconnects (DUP retransmission). Inbound messages go through the Inbox
(below): bad ones become dead letters with a reason and a counter.

The Inbox: each inbound PUBLISH is matched against the inbound links in order; its
payload is checked (size, then the codec: JSON is strict, see strict.py; then the
record's type or shape) and pushed into the graph. Anything else is a dead letter with
its reason, counted in ``rejected[kind]`` and printed as one console line, never an
exception: ``oversize``, ``malformed``, ``shape``, ``unrouted``, ``refused`` (the graph
or the broker said no), ``encode`` (an outbound value the codec could not encode),
``unsent`` (a birth, SUBSCRIBE or goodbye that did not fit the control queue, a
discovery message the outbox refused). Routing and decoding live in inbound.py, loaded
by the bridge's first subscribe() (until then every message is unrouted), and so do
SUBACKs and oversize messages (only a subscriber gets those); dead letters in
diag.reject.

Outbound links: ``Outbound(key, topic)`` says that every value written to record
``key`` is published to ``topic``, fixed or a template with ``{device}`` (the bridge's
device id, filled in once) and ``{field}`` placeholders filled from the record's fields
on each publish (``"site/{device}/{room}/temp"``). Inbound links (topic -> record) are
in inbound.py, loaded by the first subscribe().

Connection lifecycle: connect with a deadline; the session (session.py) pings and
declares a broker dead that stops answering; reconnect with capped, jittered backoff
(``backoff_ms=(base, cap, young)``: while the outage is younger than ``young`` ms, five
minutes by default, a probe every 0.5-1 s, so the bridge is back within about a second
of the broker's return; then the delay doubles on to ``cap``: rill.backoff has the rule);
re-subscribe; birth ``{"status":"online","boot":N,"first":F}`` and last will
(``offline``; the goodbye adds ``"next"``, close.py), both retained, on the status topic
(the birth adds ``"build":{...}``, rill.identity's short form, when the board has a
build.json; ``bridge.birth`` holds the added bytes);
``await close()`` drains (bounded), says ``offline`` and sends DISCONNECT. Refused
credentials and untrusted certificates are retried ``auth_retries`` times with backoff,
then the bridge stops in state ``refused`` with the reason in ``error``. A MemoryError
(say, TLS buffers at connect) is counted in ``memory_errors``, collected after and
retried with the same backoff. The control queue is sized from what is declared: the
CONNECT, or the birth, SUBSCRIBE, goodbye, DISCONNECT, a PINGREQ and 16 PUBACKs.
"""
import asyncio
import gc
import time

from . import _prep
from .packet import Refused

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff
ticks_add = time.ticks_add


class Bridge:
    """One broker connection for one device.

    ``outbox``/``outbox_bytes``/``policy``: store-and-forward bounds (entries, arena
    bytes; default 96 per entry) and overflow policy; ``window``: QoS 1 packets in
    flight; ``tls``: None or a dict (see tls.py: verified unless ``insecure=True``);
    ``seq``: where sequence numbers persist: a path (default ``.rill/{device}.seq``:
    the state folder in the current directory, made when missing), a Sequence, or None
    (RAM only: numbering restarts at 0 on every boot); ``status_topic``: retained birth
    and last will; ``ping_timeout_ms`` / ``ack_timeout_ms``: liveness deadlines (default:
    half a keepalive / a keepalive); ``spill``/``spill_path``: what a full outbox spills
    to flash (spill.py has the rules; bytes, default a quarter of the free flash up to
    256 KB; 0: none, it drops; the path in the same state folder).
    """

    def __init__(self, *a, **k):
        """Bridge(server, device, port=0, user=None, password=None, tls=None, keepalive=30,
        client_id=None, clean=True, outbox=64, outbox_bytes=None, policy=DROP_OLDEST,
        window=16, status_topic="devices/{device}/status", connect_timeout_ms=5000,
        backoff_ms=(250, 30000, 300000), auth_retries=3, seq=".rill/{device}.seq", name="mqtt",
        ping_timeout_ms=None, ack_timeout_ms=None, spill=None, spill_path=".rill/{device}.spill"): built
        by prep.bridge."""
        _prep("bridge", self, *a, **k)

    # -- declaration ---------------------------------------------------------------------

    def publish(self, *a, **k):
        """publish(key, topic, codec=JSON, qos=1, retain=False, envelope=True): publish
        every value of record ``key`` to ``topic`` (a template: Outbound); the link
        (prep.publish)."""
        return _prep("publish", self, *a, **k)

    def subscribe(self, *a, **k):
        """subscribe(filter, key, codec=JSON, max_size=256, qos=1, envelope=False,
        dedupe=False): write messages on ``filter`` to record ``key`` (a source the bridge
        pushes to); the link (prep.subscribe, inbound.py)."""
        return _prep("subscribe", self, *a, **k)

    def attach(self, *a):
        """attach(p, state=None): wire the bridge into Pipeline ``p`` (before ``build()``): a
        tap per outbound record, a pushed source per inbound record, and record ``state``
        (default: the bridge's name) holding the connection state, written by the bridge's
        own task (prep.attach); then each addon's attach(p), once the setup code is
        unloaded, so an addon's own setup (discovery's message) has that room."""
        _prep("attach", self, *a)
        for addon in self.addons:
            addon.attach(a[0])
        return self

    # -- outbound ------------------------------------------------------------------------

    def send(self, out, value):
        """Encode ``value`` for the Outbound link ``out`` into the outbox; False if it was dropped."""
        try:
            topic = out.topic(value)
            if out.envelope:
                lin = self.lineage  # the graph's, when built with lineage=True: the record's origin goes along
                payload = out.codec.wrap(self.device, self.seq.boot, self.seq.next(), value,
                                          lin.current() if lin is not None else None)
            else:
                payload = out.codec.encode(value)
        except Exception as e:
            self.inbox.reject("encode", out.key, value, e)
            return False
        ok = self.outbox.put(topic, payload, out.qos, out.retain)
        self.tx.set()
        return ok

    def put(self, topic, payload, qos=1, retain=False):
        """Queue a finished ``payload`` (bytes) for ``topic`` (bytes), outside any link;
        False if the outbox refused it. A retained one is state: it replaces a copy for
        the same topic still waiting to be sent (the broker keeps only the newest)."""
        ok = self.outbox.put(topic, payload, qos, retain, retain)
        self.tx.set()
        return ok

    # -- connection ----------------------------------------------------------------------

    def _set_state(self, state):
        if state != self.state:
            self.state = state
            if self.node is not None:
                try:
                    self.node(state)
                except Exception:
                    pass

    async def run(self):
        """Keep the connection up until close() or a final refusal. Never raises, except
        CancelledError (graph.stop()), after a best-effort goodbye.

        Each attempt connects, then runs the session until it ends. A refusal that
        retrying will not fix by itself (credentials, an untrusted certificate) is final
        after ``auth_retries``."""
        self.closed = asyncio.Event()
        if self.session is None:
            _prep("start.start", self, None)
        s = self.session
        s.stopping = False
        try:
            while not s.stopping:
                self._set_state("connecting")
                self.attempts += 1
                t_online = None
                final = None  # the reason of a refusal retrying will not fix
                try:
                    await s.connect(self.connect_timeout_ms)
                    self.connects += 1
                    self.refusals = 0
                    for a in self.addons:
                        a.online()  # queued behind the birth, which goes out first (control queue)
                    self._set_state("online")
                    t_online = ticks_ms()
                    await s.run()
                    if s.stopping:  # close() ran out of time: the goodbye, best effort, never blocks
                        from .close import bye

                        bye(s, True)
                except Refused as e:
                    rc = e.args[0]
                    from .diag import reason  # the refusal's text

                    self.error = reason(rc)
                    if rc in (2, 4, 5):
                        final = self.error
                except MemoryError:  # not the broker's doing: counted apart, collected, retried after the backoff
                    self.memory_errors += 1
                    self.error = "MemoryError"  # a constant: formatting a message would need memory
                    gc.collect()
                except Exception as e:  # OSError, ProtocolError, timeouts: retry after a backoff
                    if self.transport.tls is not None:
                        from .tls import reason  # a certificate failure's text, else None

                        final = reason(e)
                    self.error = final
                    if not final:
                        from .diag import text  # the exception as one line

                        self.error = text(e)
                except BaseException:  # cancelled
                    if t_online is not None:
                        from .close import bye

                        bye(s, True)
                    raise
                finally:
                    self.transport.close()
                    self.outbox.rewind()
                    if t_online is not None and ticks_diff(ticks_ms(), t_online) > 10000:
                        self.backoff.reset()  # that session lived a while: start the backoff over
                if final:
                    self.refusals += 1
                    if self.refusals > self.auth_retries:
                        self._set_state("refused")
                        return
                if s.stopping:
                    break
                self.failures += 1
                if self.failures % 8 == 0:
                    self.transport.addr = None  # resolve the name again now and then
                self._set_state("backoff")
                until = ticks_add(ticks_ms(), self.backoff.next())
                while not s.stopping and ticks_diff(until, ticks_ms()) > 0:
                    await asyncio.sleep_ms(min(100, max(0, ticks_diff(until, ticks_ms()))))
        finally:
            if self.state != "refused":
                self._set_state("closed")
            self.closed.set()

    async def close(self, timeout_ms=2000):
        """Stop: deliver what the outbox holds (for up to ``timeout_ms``), publish
        ``offline``, send DISCONNECT, and return once run() has ended. Returns the
        number of entries left undelivered (they stay in the outbox)."""
        if self.closed is None:
            return self.outbox.pending()
        from .close import stop  # loaded on first use

        await stop(self.session, timeout_ms, self.closed)
        return self.outbox.pending()

    # -- inspection ----------------------------------------------------------------------

    def stats(self):
        from .diag import stats  # loaded when first asked for

        return stats(self)


class Outbound:
    """An outbound link, made by publish() (prep.publish): ``key``, ``codec``, ``qos``,
    ``retain``, ``envelope``, and the topic: ``fixed`` bytes, or ``_parts`` (literal bytes
    and field names) when the template has fields."""

    def topic(self, value):
        """The topic for ``value``: KeyError/TypeError if a templated field is missing."""
        if self.fixed is not None:
            return self.fixed
        out = []
        for p in self._parts:
            out.append(p if isinstance(p, bytes) else str(value[p]).encode())
        return b"".join(out)


def deliver(inbox, topic, payload, qos):  # noqa: F811  (replaced by inbound.deliver)
    """inbound.deliver, loaded by the first message: it replaces this function as the
    module's ``deliver`` (an import per message would allocate)."""
    global deliver
    from .inbound import deliver

    deliver(inbox, topic, payload, qos)


class Inbox:
    def __init__(self, name, links):
        _prep("inbox", self, name, links)

    def deliver(self, topic, payload, qos):
        if self.links:
            return deliver(self, topic, payload, qos)
        self.reject("unrouted", self.name, bytes(topic), "no inbound link")

    def reject(self, *a):
        """reject(kind, key, value, why): a dead letter (diag.reject): counted, one console
        line, in the graph's dead letters."""
        from .diag import reject

        reject(self, *a)


def tap(bridge, out):
    """The tap on the record of Outbound link ``out`` (prep.attach)."""
    def send(value):
        bridge.send(out, value)

    return send


def task(bridge):
    """The bridge's task, the source of its state record (prep.attach)."""
    async def task(node):
        _prep("start.start", bridge, node)  # the inbox bound to the graph, the session made
        await bridge.run()

    return task
