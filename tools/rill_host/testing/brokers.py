"""MQTT brokers for host tests: real (rill_host/mqtt_host.py launches them), hostile, and cut-able.

Fixtures (function scope; every object's plain attributes reach MicroPython tests as
a snapshot, its methods over the harness's JSON RPC):

- ``broker``       mosquitto on a free loopback port (amqtt where mosquitto is not
                   installed, or with RILL_BROKER=amqtt); ``stop()``/``start()`` keep
                   the port. Helpers: ``publish``, ``publish_big``, ``watch``/``seen``.
- ``auth_broker``  the same with a password file: user ``rill``, password ``s3cret``.
- ``tls_broker``   TLS only, with a throwaway CA (``cafile``) and a server certificate
                   for localhost/127.0.0.1; ``wrong_cafile`` is another CA.
- ``impostor_broker`` a TLS broker, and in ``trusted`` a look-alike of its CA.
- ``proxy``        a TCP proxy to ``broker``: ``cut()`` resets its connections (a device
                   dies without DISCONNECT: last will), ``freeze()`` silently stops
                   forwarding (a dead broker that only keepalive can detect).
- ``hostile``      ``hostile.serve(mode)`` starts a fake broker: ``silent`` accepts TCP
                   but never answers CONNECT; ``midpacket`` sends CONNACK, half a PUBLISH,
                   then closes; ``corrupt`` sends CONNACK then an invalid packet;
                   ``slowloris`` sends CONNACK, then a byte every 50 ms, and never
                   answers a PINGREQ or acknowledges a PUBLISH; ``noack`` answers
                   PINGREQs, never PUBLISHes.

Run a broker by hand: ``python -m rill_host.testing.brokers [PORT]``.
"""
import os
import socket
import struct
import sys
import threading
import time

import pytest

from rill_host import mqtt_host  # the one broker launcher
from rill_host.mqtt_host import HOST
from rill_host.mqtt_host import mqtt_string as _s
from rill_host.mqtt_host import varint as _rl

USER, PASSWORD = "rill", "s3cret"


# -- a minimal blocking MQTT client for the host side (any payload size) ----------------

def _connect(port, client_id, user=None, password=None):
    s = socket.create_connection((HOST, port), 5)
    flags = 0x02 | (0xC0 if user else 0)
    body = _s("MQTT") + bytes([4, flags, 0, 0]) + _s(client_id)
    if user:
        body += _s(user) + _s(password)
    s.sendall(b"\x10" + _rl(len(body)) + body)
    ack = s.recv(4)
    if len(ack) != 4 or ack[0] != 0x20 or ack[3] != 0:
        s.close()
        raise RuntimeError("host client: CONNACK %r" % ack)
    return s


class Broker(mqtt_host.Broker):
    """The shared launcher with the test user, a wrong CA for TLS, host-side publish
    helpers and watchers. Its methods answer MicroPython tests over JSON RPC."""

    def __init__(self, password=False, kind=None, tls=False, port=None):
        super().__init__(kind=kind, port=port, user=USER if password else None,
                         password=PASSWORD if password else None, tls=tls)
        self.wrong_cafile = mqtt_host.certificates(os.path.join(self.dir, "other"), "other CA")[0] if tls else None
        self._watchers = []

    def rpc_attrs(self):
        return {"host": self.host, "port": self.port, "kind": self.kind, "user": self.user,
                "password": self.password, "cafile": self.cafile, "wrong_cafile": self.wrong_cafile}

    def start(self):
        """Start (again) on the same port; returns once it accepts connections."""
        super().start()
        return True  # an RPC reply is JSON

    def stop(self):
        """Stop the broker (its clients see their connections close)."""
        super().stop()
        return True

    def close(self):
        for w in self._watchers:
            w.stop()
        super().close()

    # -- host-side clients ---------------------------------------------------------------

    def publish(self, topic, payload, retain=False):
        """Publish one QoS 0 message from the host (payload: str)."""
        s = _connect(self.port, "host-pub-%d" % time.monotonic_ns(), self.user, self.password)
        try:
            data = payload.encode() if isinstance(payload, str) else payload
            t = _s(topic)
            s.sendall(bytes([0x30 | bool(retain)]) + _rl(len(t) + len(data)) + t + data + b"\xe0\x00")
            time.sleep(0.05)
        finally:
            s.close()
        return True

    def publish_big(self, topic, size):
        """Publish ``size`` bytes of b'x' (e.g. 10 MB) in one message, streamed in chunks."""
        s = _connect(self.port, "host-big", self.user, self.password)
        try:
            t = _s(topic)
            s.sendall(b"\x30" + _rl(len(t) + size) + t)
            chunk = b"x" * 65536
            left = size
            while left:
                n = min(left, len(chunk))
                s.sendall(chunk[:n])
                left -= n
            s.sendall(b"\xe0\x00")
            time.sleep(0.1)
        finally:
            s.close()
        return True

    def watch(self, topic):
        """Start collecting messages on ``topic`` (a filter) in a host thread."""
        w = _Watcher(self, topic)
        self._watchers.append(w)
        w.ready.wait(5)
        return len(self._watchers) - 1

    def seen(self, index=0):
        """Payloads (str) the watcher ``index`` has collected so far, in arrival order."""
        return list(self._watchers[index].messages)


class _Watcher:
    """A host-side subscriber (stock umqtt.simple over the CPython compat layer)."""

    def __init__(self, broker, topic):
        self.broker = broker
        self.topic = topic
        self.messages = []
        self.ready = threading.Event()
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import rill  # noqa: F401,F811  (installs usocket & co. for umqtt on CPython: before umqtt)

        MQTTClient = __import__("umqtt.simple", None, None, ("MQTTClient",)).MQTTClient

        while not self._stop:
            b = self.broker
            c = MQTTClient("host-watch-%d" % id(self), b.host, b.port, user=b.user, password=b.password)
            c.set_callback(lambda t, m: self.messages.append(m.decode()))
            try:
                c.connect()
                c.subscribe(self.topic, qos=1)
                self.ready.set()
                while not self._stop:
                    n = len(self.messages)
                    c.check_msg()  # None whether or not a message came
                    if len(self.messages) == n:
                        time.sleep(0.005)
            except (OSError, AssertionError, IndexError):
                time.sleep(0.05)
            finally:
                try:
                    c.sock.close()
                except Exception:
                    pass

    def stop(self):
        self._stop = True
        self._t.join(2)


# -- a proxy whose connections can be cut ----------------------------------------------

class Proxy:
    def __init__(self, port):
        self.host = HOST
        self.upstream = port
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind((HOST, 0))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        self._conns = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def rpc_attrs(self):
        return {"host": self.host, "port": self.port}

    def _accept(self):
        while not self._closed:
            try:
                c, _ = self._srv.accept()
            except OSError:
                return
            try:
                u = socket.create_connection((HOST, self.upstream), 2)
                u.settimeout(None)  # a quiet connection is not a dead one
            except OSError:
                c.close()
                continue
            state = {"frozen": False}
            with self._lock:
                self._conns.append((c, u, state))
            threading.Thread(target=self._pump, args=(c, u, state), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, state), daemon=True).start()

    @staticmethod
    def _pump(a, b, state):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if not state["frozen"]:
                    b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Reset every open connection at once (no DISCONNECT reaches the broker)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for c, u, _ in conns:
            for s in (c, u):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                except OSError:
                    pass
        return len(conns)

    def freeze(self):
        """Silently stop forwarding on every open connection, keeping them open: a dead
        broker as a device sees it (only keepalive can tell). New connections work."""
        with self._lock:
            for _, _, state in self._conns:
                state["frozen"] = True
        return True

    def close(self):
        self._closed = True
        self._srv.close()
        self.cut()


# -- hostile brokers ---------------------------------------------------------------------

class Hostile:
    MODES = ("silent", "midpacket", "corrupt", "slowloris", "noack")

    def __init__(self):
        self.host = HOST
        self.port = None
        self.mode = None
        self.accepted = 0
        self._srv = None
        self._socks = []

    def rpc_attrs(self):
        return {"host": self.host}

    def serve(self, mode):
        """Start a fake broker in ``mode``; returns its port."""
        assert mode in self.MODES
        self.mode = mode
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind((HOST, 0))
        self._srv.listen(16)
        self.port = self._srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self.port

    def connections(self):
        return self.accepted

    def _accept(self):
        while True:
            try:
                c, _ = self._srv.accept()
            except OSError:
                return
            self.accepted += 1
            self._socks.append(c)
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        try:
            c.settimeout(5)
            c.recv(1024)  # the CONNECT
            if self.mode == "silent":
                return  # keep the socket open, say nothing
            c.sendall(b"\x20\x02\x00\x00")
            if self.mode == "slowloris":  # an endless PUBLISH, a byte at a time; no PINGRESP, no PUBACK
                c.sendall(b"\x30" + _rl(1 << 24) + b"\x00\x03a/b")
                while True:
                    time.sleep(0.05)
                    c.sendall(b"y")
            if self.mode == "noack":  # answers PINGREQ, never acknowledges a PUBLISH
                c.settimeout(None)
                while True:
                    data = c.recv(4096)
                    if not data:
                        return
                    if b"\xc0\x00" in data:
                        c.sendall(b"\xd0\x00")
            if self.mode == "midpacket":
                body = b"\x00\x03a/b" + b"y" * 200
                c.sendall(b"\x30" + _rl(len(body)) + body[:40])
                c.settimeout(0.05)
                try:
                    while c.recv(4096):  # read what the client sent, so the close is a FIN
                        pass
                except OSError:
                    pass
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            else:
                c.sendall(b"\xf3\xff\xff\xff\xff\xff\x01garbage")
                time.sleep(0.5)
                c.close()
        except OSError:
            pass

    def close(self):
        if self._srv is not None:
            self._srv.close()
        for c in self._socks:
            try:
                c.close()
            except OSError:
                pass


# -- fixtures ----------------------------------------------------------------------------

def _running(**kw):
    b = Broker(**kw)
    try:
        b.start()
        yield b
    finally:
        b.close()


@pytest.fixture
def broker():
    yield from _running()


@pytest.fixture
def auth_broker():
    yield from _running(password=True)


@pytest.fixture
def tls_broker():
    yield from _running(tls=True)


class Impostor(Broker):
    """A TLS broker and, in ``trusted``, another CA with the same name as the broker's
    own: a client that trusts ``trusted`` meets an impostor."""

    def __init__(self):
        super().__init__(tls=True)
        self.trusted = mqtt_host.certificates(os.path.join(self.dir, "real"))[0]

    def rpc_attrs(self):  # short: the unix port crashes on an argv over a few hundred bytes
        return {"host": self.host, "port": self.port, "trusted": self.trusted}


@pytest.fixture
def impostor_broker():
    b = Impostor()
    try:
        b.start()
        yield b
    finally:
        b.close()


@pytest.fixture
def proxy(broker):
    p = Proxy(broker.port)
    yield p
    p.close()


@pytest.fixture
def hostile():
    h = Hostile()
    yield h
    h.close()


if __name__ == "__main__":
    b = Broker(port=int(sys.argv[1]) if len(sys.argv) > 1 else None)
    b.start()
    print("%s listening on %s:%d (Ctrl-C stops)" % (b.kind, HOST, b.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        b.close()
