"""Gateway: many devices' envelopes from MQTT through the app's own pipeline, into SQLite.

    gw = Gateway(app, "127.0.0.1", 1883, "fleet/+/+", db="gw.sqlite", group="gw")
    asyncio.run(gw.run())            # until gw.stop()

One paho client (its network thread) feeds an asyncio queue; the loop takes whatever has
arrived as one batch, runs each new envelope through that device's own ``Pipeline`` (built
from the app module on the device's first message, so windows and alarms keep per-device
state), commits the batch to the store (store.py) and only then acknowledges the QoS 1
messages (paho's ``manual_ack``): a message is acknowledged once it is in the store, so a
gateway that dies loses nothing it acknowledged. Duplicates (same dev, boot, seq) are
counted and acknowledged, never run or stored twice. With ``group``, the subscription is
``$share/<group>/<filter>``: N gateways share the stream, the broker dispatches.
``persistent``: a broker session that outlives the connection (clean session off, client
id = ``instance``): the broker keeps what it sent or queued for a gateway that died, and
hands it over when that instance comes back under the same name.

An app module (``--app``) declares ``INPUTS`` (record keys, the topic's last level),
``OUTPUTS`` (records stored per message) and ``pipeline(p)`` (records and transforms: the
same code as on the device); optional ``CODECS`` maps an input key to a codec
(``rill.mqtt.Struct``; JSON otherwise). Without an app, each input value is stored as is.

Reported as records of the gateway's own pipeline (``graph``; an app's ``monitor(p)`` may
tap them): ``gap`` (a missing range ``{"dev", "boot", "lo", "hi"}``, once it is older than
``grace_s``), ``duplicate`` ((dev, boot, seq)) and ``lag`` ({dev: (seconds since its
newest message was stored, its newest seq)}); as metrics: ``stats()``, also written to
``metrics`` (JSON) at every scan. A hole is only a gap inside one boot epoch: numbers a
reboot skips are not losses; a loss after a device's newest stored message shows once a
later message of the same boot arrives, and a loss at the end of a boot never does.
"""
import asyncio
import collections
import gc
import json
import os
import re
import struct
import sys
import time
from zlib import crc32

import paho.mqtt.client as paho

from rill import Pipeline, Ring, strict
from rill.mqtt.codecs import JSON, Struct

from .store import open_store


def _constant(name):
    raise ValueError("not strict JSON: %s" % name)


_decoder = json.JSONDecoder(parse_constant=_constant)
_raw = _decoder.raw_decode
_escape = re.compile(rb"\\u[dD][89a-fA-F]")


def strict_loads(payload):
    """rill.strict.loads, for CPython at C speed (the gateway's hot path): CPython's json is
    RFC 8259 once NaN/Infinity are refused and the bytes are UTF-8 (decoded strictly); the
    two things rill.strict refuses beyond the grammar, surrogate escapes and nesting deeper
    than MAX_DEPTH, are looked for only when the payload could hold them (test_gateway
    checks every verdict of the device's table against rill.strict)."""
    if b"\\u" in payload and _escape.search(payload) or payload.count(b"[") + payload.count(b"{") > strict.MAX_DEPTH:
        return strict.loads(payload)
    try:
        text = payload.decode()
    except UnicodeDecodeError as e:
        raise ValueError("not strict JSON: %s" % e.reason) from None
    try:  # the usual envelope, no whitespace around it: the scanner alone, not decode()'s two regex passes
        v, end = _raw(text)
        if end == len(text):
            return v
    except ValueError:
        pass
    return _decoder.decode(text)  # whitespace around, or the error's own words


_TOP = 1 << 63


def unwrap(codec, payload):
    """(dev, boot, seq, value) of an envelope; ValueError if it is not one."""
    if isinstance(codec, Struct):
        dev, seq, v = codec.unwrap(payload)
        if seq >= 1 << 63:
            raise ValueError("seq beyond 2**63")
        return dev, struct.unpack_from(">I", payload, 2 + payload[1])[0], seq, v
    d = strict_loads(payload) if codec is JSON else codec.decode(payload)
    if type(d) is not dict or "dev" not in d or "boot" not in d or "seq" not in d or "v" not in d:
        raise ValueError("not an envelope")
    dev, boot, seq = d["dev"], d["boot"], d["seq"]
    if type(boot) is not int or type(seq) is not int or not 0 <= boot < _TOP or not 0 <= seq < _TOP:
        raise ValueError("bad boot or seq")
    if not isinstance(dev, str) or not dev:
        raise ValueError("bad dev")
    return dev, boot, seq, d["v"]


_dumps = json.dumps
_repr = float.__repr__


def dumps(v):
    """json.dumps(v), its scalars without the encoder's machinery (the same text: the
    encoder writes a finite float as float.__repr__, an int as int.__repr__)."""
    t = type(v)
    if t is float and v - v == 0:
        return _repr(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    return _dumps(v)


# input key -> the sequence its numbers come from, when not the bridge's: rill.io.mqttsink's
# capture (``rill/{device}/capture``) numbers its messages in a Sequence of its own
STREAMS = {"capture": "capture"}


class _Identity:
    """No app: every input is stored as it came."""

    INPUTS = None
    OUTPUTS = None


_BUILDERS = ("rill.check", "rill.shapes", "rill.wiring")  # what Pipeline.build loads, uses and unloads
_builders = {}


def build(p):
    """``p.build()`` on a host that builds a pipeline per device: on a board, build collects
    garbage three times and loads its checker and wiring afresh, unloading them after (a
    small heap holds one at a time); here that is ~16 ms a device (a full collection of a
    large heap, and the modules compiled again), so they stay loaded and no collection
    runs. The same build, the same checks."""
    for name, mod in _builders.items():
        sys.modules[name] = mod
    collect, gc.collect = gc.collect, _no_collect
    try:
        return p.build()
    finally:
        gc.collect = collect
        if not _builders:
            for name in _BUILDERS:
                __import__(name)
                _builders[name] = sys.modules[name]


def _no_collect(generation=2):
    return 0


class Device:
    """One device's pipeline: the app's records and transforms, a pushed source per input,
    and a sink per output that collects what one message produced."""

    def __init__(self, app, dev):
        self.outs = None
        self.unattributed = 0  # outputs a timer wrote between messages: not stored
        p = Pipeline(dev)
        app.pipeline(p)
        for key in app.INPUTS:
            p.source(key)
        for key in app.OUTPUTS:
            p.record("_gw_" + key)
            p.transform("_gw_" + key, self._sink(key), key)
        self.graph = build(p)
        self.graph.start()

    def _sink(self, key):
        def sink(v):
            if self.outs is None:
                self.unattributed += 1
            else:
                self.outs[key] = dumps(v)  # now: a join's output is rewritten in place later
            # None: the sink's own record is never written

        return sink

    def run(self, key, value):
        """Push one message's value; {output key: JSON text} of what it produced."""
        self.outs = outs = {}
        try:
            self.graph.push(key, value)
        finally:
            self.outs = None
        return outs


class Gateway:
    """One gateway instance (see the module's docstring); ``run()`` until ``stop()``."""

    def __init__(self, app=None, host="127.0.0.1", port=1883, filter="#", db="gateway.sqlite", group=None,
                 instance=None, qos=1, grace_s=2.0, scan_s=1.0, metrics=None, max_batch=1000, keepalive=30,
                 persistent=False, status="devices/+/status"):
        self.app = app or _Identity
        self.persistent = persistent
        self.host, self.port, self.qos, self.keepalive = host, port, qos, keepalive
        self.topic = "$share/%s/%s" % (group, filter) if group else filter
        self.instance = instance or "gw-%d" % os.getpid()
        self.store = open_store(db, self.instance)
        self.status = status  # births and goodbyes: where each boot began and ended
        self._status_key = status.rsplit("/", 1)[-1] if status else None
        self._todo = []
        self.grace_s, self.scan_s, self.metrics, self.max_batch = grace_s, scan_s, metrics, max_batch
        self.codecs = getattr(self.app, "CODECS", None) or {}
        self.streams = getattr(self.app, "STREAMS", None) or STREAMS
        self.devices = {}
        self.counts = dict(received=0, stored=0, duplicates=0, reused=0, rejected=0, gaps=0, gaps_closed=0,
                           batches=0, status=0, wills=0, app_errors=0)
        self.errors = []  # newest reasons, bounded
        self._stop = None
        p = Pipeline("gateway")
        p.record("gap", dict, Ring(64))
        p.record("duplicate", tuple, Ring(64))
        p.record("reused", tuple, Ring(64))
        p.record("lag", dict)
        for key in ("gap", "duplicate", "reused", "lag"):
            p.source(key)
        if hasattr(self.app, "monitor"):
            self.app.monitor(p)  # the app's taps (or transforms) on gap, duplicate, lag
        self.graph = p.build()

    # -- messages ------------------------------------------------------------------

    def _reject(self, topic, why):
        self.counts["rejected"] += 1
        self.errors = (self.errors + ["%s: %s" % (topic, why)])[-16:]
        print("gateway %s: rejected a message on %s: %s" % (self.instance, topic, why))

    def warm_up(self):
        """Build one device pipeline and throw it away: the app's imports happen now, not
        on the first message (which would wait ~100 ms for them)."""
        if self.app.INPUTS is not None:
            Device(self.app, "_warm_up").graph.stop()

    def _device(self, dev):
        d = self.devices.get(dev)
        if d is None:
            d = self.devices[dev] = Device(self.app, dev)
        return d

    def process(self, items):
        """Decode a batch of (topic, payload, t_recv, ...): the rows to commit (store.commit's),
        with (device, input key, value) per row for ``results``. Status messages (birth,
        goodbye) are a boot's bounds, written at once."""
        rows, self._todo = [], todo = [], []
        inputs, codecs, streams = self.app.INPUTS, self.codecs, self.streams
        for it in items:  # (topic, payload, t_recv[, mid, qos])
            topic, payload = it[0], it[1]
            key = topic.rsplit("/", 1)[-1]
            if key == self._status_key and self.status and paho.topic_matches_sub(self.status, topic):
                self._bound(topic, payload)
                continue
            if inputs is not None and key not in inputs:
                self._reject(topic, "no input record %r in the app" % key)
                continue
            try:
                dev, boot, seq, v = unwrap(codecs.get(key, JSON), payload)
            except (ValueError, struct.error, TypeError) as e:
                self._reject(topic, e)
                continue
            sent = v.get("ts") if type(v) is dict else None
            rows.append((dev, streams.get(key, ""), boot, seq, crc32(payload), topic, it[2],
                         sent if isinstance(sent, (int, float)) and sent is not True and sent is not False else None))
            todo.append((dev, key, v))
        return rows

    def results(self, i):
        """The app's results ({output key: JSON text}) of row ``i`` of the last process()."""
        dev, key, v = self._todo[i]
        if self.app.INPUTS is None:
            return {key: dumps(v)}
        try:
            return self._device(dev).run(key, v)
        except Exception as e:  # the app's own declaration failed: stored, without results
            self.counts["app_errors"] += 1
            self.errors = (self.errors + ["%s: %s: %s" % (dev, type(e).__name__, e)])[-16:]
            return {}

    def _bound(self, topic, payload):
        """A birth ``{"status":"online","boot":B[,"first":F]}`` or goodbye (``"offline"``,
        ``"next":N``) on ``<prefix>/<dev>/status``: where boot B began or ended. A last will
        (``"offline"`` without ``"next"``: fixed at CONNECT, it fires on a dropped connection
        mid-boot too) cannot say where the boot's numbers end; it is counted (``wills``)
        and said: after a power cut, the next boot's ``first`` is past a reserved block whose
        unused numbers are no loss, so a loss after the boot's newest message is unknowable."""
        self.counts["status"] += 1
        try:
            d = JSON.decode(payload)
            boot, first, nxt = d.get("boot"), d.get("first"), d.get("next")
            for n in (boot, first, nxt):
                if n is not None and (type(n) is not int or n < 0):
                    raise ValueError("bad boot, first or next")
        except (ValueError, AttributeError, TypeError) as e:
            return self._reject(topic, "status: %s" % e)
        dev = topic.rsplit("/", 2)[-2]
        if boot is not None and (first is not None or nxt is not None):
            self.store.bound(dev, "", boot, first, nxt)
        elif d.get("status") == "offline" and boot is not None:  # a last will: no end to tell
            self.counts["wills"] += 1
            print("gateway %s: %s boot %d lost its connection without a goodbye (last will): a loss after its"
                  " newest message is countable only if the boot comes back and says goodbye"
                  % (self.instance, dev, boot))

    def _duplicate(self, ident):
        self.counts["duplicates"] += 1
        self.graph.push("duplicate", ident)

    def commit(self, rows):
        """Store a processed batch (running the pipeline of each new message); count what
        was stored, what was a duplicate and what reused a key (stored, flagged)."""
        stored, dups, reused = self.store.commit(rows, self.results)
        for i in dups:
            self._duplicate(rows[i][:4])
        for i in reused:
            self.counts["reused"] += 1
            self.graph.push("reused", rows[i][:4])
            print("gateway %s: %s stream %r boot %d seq %d came again with other bytes: stored, flagged reused"
                  % ((self.instance,) + rows[i][:4]))
        self.counts["stored"] += len(stored)
        self.counts["batches"] += 1

    def scan(self, grace_s=None):
        new, closed = self.store.scan(self.grace_s if grace_s is None else grace_s)
        self.counts["gaps"] += len(new)
        self.counts["gaps_closed"] += len(closed)
        for dev, stream, boot, lo, hi in new:
            print("gateway %s: gap %s%s boot %d: seq %d..%d missing"
                  % (self.instance, dev, " stream " + stream if stream else "", boot, lo, hi))
            self.graph.push("gap", {"dev": dev, "stream": stream, "boot": boot, "lo": lo, "hi": hi})
        lag = self.store.lag()
        self.graph.push("lag", lag)
        if self.metrics:
            tmp = self.metrics + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.stats(lag), f)
            os.replace(tmp, self.metrics)

    def stats(self, lag=None):
        d = dict(self.counts, instance=self.instance, devices=len(self.devices), errors=self.errors,
                 unattributed=sum(x.unattributed for x in self.devices.values()),  # timer outputs, not stored
                 pipeline_dead_letters=sum(x.graph.dead_letters.produced for x in self.devices.values()))
        d["lag"] = {dev: {"age_s": round(a, 3), "seq": s} for dev, (a, s) in (lag or self.store.lag()).items()}
        return d

    # -- connection ----------------------------------------------------------------

    def _client(self, loop, buf, wake):
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.instance, clean_session=not self.persistent,
                        manual_ack=True)

        def on_connect(client, userdata, flags, rc, props=None):
            if not rc.is_failure:
                client.subscribe([(self.topic, self.qos)] + ([(self.status, self.qos)] if self.status else []))

        def on_message(client, userdata, m):
            buf.append((m.topic, m.payload, time.time(), m.mid, m.qos))
            if len(buf) == 1:  # the loop drains all it finds: one wake-up per batch, not per message
                loop.call_soon_threadsafe(wake.set)

        c.on_connect = on_connect
        c.on_message = on_message
        return c

    async def run(self):
        loop = asyncio.get_running_loop()
        buf = collections.deque()  # paho's thread appends, the loop pops (both atomic)
        wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.graph.start()
        self.warm_up()
        client = self._client(loop, buf, wake)
        client.connect(self.host, self.port, self.keepalive)
        client.loop_start()
        next_scan = time.monotonic() + self.scan_s
        pop = buf.popleft
        try:
            while True:
                if not buf:
                    try:
                        await asyncio.wait_for(wake.wait(), max(0.01, next_scan - time.monotonic()))
                    except asyncio.TimeoutError:
                        pass
                wake.clear()
                if buf:
                    items = [pop() for _ in range(min(len(buf), self.max_batch))]
                    self.counts["received"] += len(items)
                    self.commit(self.process(items))
                    ack = client.ack
                    for it in items:
                        if it[4]:
                            ack(it[3], it[4])
                if time.monotonic() >= next_scan:
                    self.scan()
                    next_scan = time.monotonic() + self.scan_s
                if self._stop.is_set() and not buf:
                    break
        finally:
            client.disconnect()
            client.loop_stop()
            self.scan()
            self.graph.stop()
            for d in self.devices.values():
                d.graph.stop()
            self.store.close()

    def stop(self):
        if self._stop is not None:
            self._stop.set()
