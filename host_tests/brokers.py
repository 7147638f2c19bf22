"""MQTT brokers for host tests (and `make run`): real, hostile, and cut-able.

Fixtures (function scope; every object's plain attributes reach MicroPython tests as
a snapshot, its methods over the harness's JSON RPC):

- ``broker``       mosquitto on a free loopback port (amqtt where mosquitto is not
                   installed, or with RILL_BROKER=amqtt); ``stop()``/``start()`` keep
                   the port. Helpers: ``publish``, ``publish_big``, ``watch``/``seen``.
- ``auth_broker``  the same with a password file: user ``rill``, password ``s3cret``.
- ``tls_broker``   TLS only, with a throwaway CA (``cafile``) and a server certificate
                   for localhost/127.0.0.1; ``wrong_cafile`` is another CA.
- ``proxy``        a TCP proxy to ``broker``: ``cut()`` resets its connections (a device
                   dies without DISCONNECT: last will), ``freeze()`` silently stops
                   forwarding (a dead broker that only keepalive can detect).
- ``hostile``      ``hostile.serve(mode)`` starts a fake broker: ``silent`` accepts TCP
                   but never answers CONNECT; ``midpacket`` sends CONNACK, half a PUBLISH,
                   then closes; ``corrupt`` sends CONNACK then an invalid packet.

Run a broker by hand: ``python host_tests/brokers.py [PORT]``.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (os.path.join(ROOT, "lib"), os.path.join(ROOT, ".deps", "micropython")):
    if _p not in sys.path:
        sys.path.append(_p)

USER, PASSWORD = "rill", "s3cret"
HOST = "127.0.0.1"


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("broker exited with %s" % proc.returncode)
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("broker did not listen on %d" % port)


# -- a minimal blocking MQTT client for the host side (any payload size) ----------------

def _rl(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("!H", len(b)) + b


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


def _certificates(d):
    """A throwaway CA and a server certificate for localhost/127.0.0.1 (openssl CLI)."""
    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=rill test CA")
    ssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    ssl("req", "-x509", *ec, "-keyout", "other.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=other CA")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)  # mosquitto started as root reads them as user mosquitto


class Broker:
    def __init__(self, password=False, kind=None, tls=False):
        self.host = HOST
        self.port = free_port()
        self.kind = kind or os.environ.get("RILL_BROKER") or ("mosquitto" if _mosquitto() else "amqtt")
        self.user = USER if password else None
        self.password = PASSWORD if password else None
        self._dir = tempfile.mkdtemp(prefix="rill-broker-")
        os.chmod(self._dir, 0o755)  # mosquitto started as root drops to user mosquitto
        self.cafile = self.wrong_cafile = None
        if tls:
            _certificates(self._dir)
            self.cafile = os.path.join(self._dir, "ca.crt")
            self.wrong_cafile = os.path.join(self._dir, "other-ca.crt")
        self._proc = None
        self._conf = self._configure()
        self._watchers = []

    def rpc_attrs(self):
        return {"host": self.host, "port": self.port, "kind": self.kind, "user": self.user,
                "password": self.password, "cafile": self.cafile, "wrong_cafile": self.wrong_cafile}

    def _configure(self):
        d = self._dir
        if self.kind == "mosquitto":
            conf = os.path.join(d, "mosquitto.conf")
            lines = ["listener %d %s" % (self.port, HOST), "persistence false", "log_dest none"]
            if self.cafile:
                lines += ["cafile " + self.cafile, "certfile " + os.path.join(d, "server.crt"),
                          "keyfile " + os.path.join(d, "server.key")]
            if self.password:
                pw = os.path.join(d, "passwd")
                open(pw, "w").close()
                subprocess.run(["mosquitto_passwd", "-b", pw, self.user, self.password], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                os.chmod(pw, 0o644)
                lines += ["allow_anonymous false", "password_file " + pw]
            else:
                lines.append("allow_anonymous true")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            return conf
        conf = os.path.join(d, "amqtt.yaml")
        plugins = ["  amqtt.plugins.authentication.AnonymousAuthPlugin:",
                   "    allow_anonymous: %s" % ("false" if self.password else "true")]
        if self.password:
            from pwdlib import PasswordHash
            from pwdlib.hashers.argon2 import Argon2Hasher

            pw = os.path.join(d, "passwd")
            with open(pw, "w") as f:
                f.write("%s:%s\n" % (self.user, PasswordHash((Argon2Hasher(),)).hash(self.password)))
            plugins += ["  amqtt.plugins.authentication.FileAuthPlugin:", "    password_file: " + pw]
        listener = ["listeners:", "  default:", "    type: tcp", "    bind: %s:%d" % (HOST, self.port)]
        if self.cafile:
            listener += ["    ssl: true", "    cafile: " + self.cafile, "    certfile: " + os.path.join(d, "server.crt"),
                         "    keyfile: " + os.path.join(d, "server.key")]
        with open(conf, "w") as f:
            f.write("\n".join(listener + ["plugins:"] + plugins) + "\n")
        return conf

    def _command(self):
        if self.kind == "mosquitto":
            return [_mosquitto(), "-c", self._conf]
        exe = os.path.join(os.path.dirname(sys.executable), "amqtt")
        return [exe if os.path.exists(exe) else "amqtt", "-c", self._conf]

    def start(self):
        """Start (again) on the same port; returns once it accepts connections."""
        if self._proc is not None and self._proc.poll() is None:
            return True
        deadline = time.monotonic() + 10
        while True:  # the port may linger for a moment after a stop
            self._proc = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_port(self.port, self._proc)
                return True
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        """Stop the broker (its clients see their connections close)."""
        p = self._proc
        self._proc = None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return True

    def close(self):
        for w in self._watchers:
            w.stop()
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

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
        import rill  # noqa: F401,F811  (installs usocket & co. for umqtt on CPython)
        from umqtt.simple import MQTTClient

        while not self._stop:
            b = self.broker
            c = MQTTClient("host-watch-%d" % id(self), b.host, b.port, user=b.user, password=b.password)
            c.set_callback(lambda t, m: self.messages.append(m.decode()))
            try:
                c.connect()
                c.subscribe(self.topic, qos=1)
                self.ready.set()
                while not self._stop:
                    if c.check_msg() is None:
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


def _mosquitto():
    return shutil.which("mosquitto") or (os.path.exists("/usr/sbin/mosquitto") and "/usr/sbin/mosquitto")


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
    MODES = ("silent", "midpacket", "corrupt")

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

@pytest.fixture
def broker():
    b = Broker()
    try:
        b.start()
        yield b
    finally:
        b.close()


@pytest.fixture
def auth_broker():
    b = Broker(password=True)
    try:
        b.start()
        yield b
    finally:
        b.close()


@pytest.fixture
def tls_broker():
    b = Broker(tls=True)
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
    b = Broker()
    if len(sys.argv) > 1:
        b.port = int(sys.argv[1])
        b._conf = b._configure()
    b.start()
    print("%s listening on %s:%d (Ctrl-C stops)" % (b.kind, HOST, b.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        b.close()
