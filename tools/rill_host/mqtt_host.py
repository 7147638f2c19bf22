"""Host-side MQTT for the demo, the bench and the tests: a throwaway broker and a tiny client.

``Broker`` is the one launcher of a local broker (tools/rill_host/testing/brokers.py and
tools/rill_host/bench/mqtt.py build on it): mosquitto with a generated config, else amqtt from
the venv, on a free loopback port. ``Client`` is a minimal blocking MQTT 3.1.1 client
(stdlib only): subscribe, receive QoS 0/1 PUBLISH with their retain flag, publish QoS 0.
Everything here talks to 127.0.0.1 only.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
INSTALL = {"mosquitto": "apt-get install mosquitto", "amqtt": "run 'make setup'"}


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def find_mosquitto():
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


def find_amqtt():
    """amqtt next to this interpreter (the venv), else on PATH."""
    exe = os.path.join(os.path.dirname(sys.executable), "amqtt")
    return exe if os.path.exists(exe) else shutil.which("amqtt")


def certificates(d, ca_name="rill test CA"):
    """A throwaway CA and a server certificate for localhost/127.0.0.1 in ``d`` (openssl
    CLI), as (cafile, certfile, keyfile)."""
    os.makedirs(d, exist_ok=True)

    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=" + ca_name)
    ssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    os.chmod(d, 0o755)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)  # mosquitto started as root reads them as user mosquitto
    return tuple(os.path.join(d, name) for name in ("ca.crt", "server.crt", "server.key"))


class BrokerError(Exception):
    pass


class Broker:
    """A throwaway broker on a loopback port that ``stop()``/``start()`` keep; ``close()``
    removes its temp dir (config, password file, certificates, ``log``).

    kind: "mosquitto" or "amqtt"; default RILL_BROKER, else mosquitto if installed.
    amqtt: the amqtt executable (default: next to this interpreter, else on PATH).
    user/password: clients must log in (a password file; no anonymous access).
    tls: TLS only, with a throwaway CA (``cafile``) and a server certificate for localhost.
    mosquitto_conf: extra lines for mosquitto's config (amqtt ignores them).
    own_session: keep the caller's Ctrl-C (and group kills) away from it; only stop() ends it.
    """

    def __init__(self, kind=None, amqtt=None, port=None, user=None, password=None, tls=False, mosquitto_conf=(),
                 own_session=False):
        chosen = kind or os.environ.get("RILL_BROKER")
        self.kind = chosen or ("mosquitto" if find_mosquitto() else "amqtt")
        if self.kind not in INSTALL:
            raise BrokerError("unknown broker %r: use mosquitto or amqtt" % self.kind)
        exe = find_mosquitto() if self.kind == "mosquitto" else amqtt or find_amqtt()
        if not exe:
            raise BrokerError("%s is not installed (%s)" % (self.kind, INSTALL[self.kind]) if chosen else
                              "no MQTT broker: install mosquitto (%s) or %s for amqtt"
                              % (INSTALL["mosquitto"], INSTALL["amqtt"]))
        self.host = HOST
        self.port = port or free_port()
        self.user, self.password = user, password
        self.cafile = None
        self.proc = None
        self.own_session = own_session
        self.dir = tempfile.mkdtemp(prefix="rill-broker-")
        os.chmod(self.dir, 0o755)  # mosquitto started as root drops to user mosquitto
        self.log = os.path.join(self.dir, "broker.log")
        try:
            tls = certificates(os.path.join(self.dir, "tls")) if tls else None
            self.cafile = tls and tls[0]
            pw = self._password_file() if user else None
            configure = self._mosquitto_conf if self.kind == "mosquitto" else self._amqtt_conf
            self.cmd = [exe, "-c", configure(tls, pw, mosquitto_conf)]
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _password_file(self):
        pw = os.path.join(self.dir, "passwd")
        if self.kind == "mosquitto":
            open(pw, "w").close()
            subprocess.run(["mosquitto_passwd", "-b", pw, self.user, self.password], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            from pwdlib import PasswordHash
            from pwdlib.hashers.argon2 import Argon2Hasher

            with open(pw, "w") as f:
                f.write("%s:%s\n" % (self.user, PasswordHash((Argon2Hasher(),)).hash(self.password)))
        os.chmod(pw, 0o644)
        return pw

    def _mosquitto_conf(self, tls, pw, extra):
        lines = ["listener %d %s" % (self.port, HOST), "persistence false", "log_dest stderr"]
        if tls:
            lines += ["cafile %s" % tls[0], "certfile %s" % tls[1], "keyfile %s" % tls[2]]
        lines += ["allow_anonymous false", "password_file " + pw] if pw else ["allow_anonymous true"]
        return self._write("mosquitto.conf", lines + list(extra))

    def _amqtt_conf(self, tls, pw, extra):
        lines = ["listeners:", "  default:", "    type: tcp", "    bind: %s:%d" % (HOST, self.port)]
        if tls:
            lines += ["    ssl: true", "    cafile: " + tls[0], "    certfile: " + tls[1], "    keyfile: " + tls[2]]
        lines += ["plugins:", "  amqtt.plugins.authentication.AnonymousAuthPlugin:",
                  "    allow_anonymous: %s" % ("false" if pw else "true")]
        if pw:
            lines += ["  amqtt.plugins.authentication.FileAuthPlugin:", "    password_file: " + pw]
        return self._write("amqtt.yaml", lines)

    def _write(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        """Start (again, on the same port); returns self once it accepts connections."""
        if self.running():
            return self
        restart = self.proc is not None  # after a stop the port may linger for a moment
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=self.own_session)
            while self.proc.poll() is None:
                try:
                    socket.create_connection((HOST, self.port), 0.2).close()
                    return self
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise BrokerError("%s did not listen on %s:%d within %gs%s"
                                          % (self.kind, HOST, self.port, timeout, self._said()))
                    time.sleep(0.02)
            if not restart or time.monotonic() > deadline:
                raise BrokerError("%s exited at start (status %s)%s" % (self.kind, self.proc.returncode, self._said()))
            time.sleep(0.1)

    def _said(self):
        """': ' and the last error line of the log (close() removes the log), or ''."""
        try:
            with open(self.log, errors="replace") as f:
                lines = [re.sub(r"^\d+: ", "", ln.strip()) for ln in f if ln.strip()]  # mosquitto's timestamp
        except OSError:
            return ""
        errors = [ln for ln in lines if "error" in ln.lower() and not ln.startswith("Error found at")]
        return ": " + (errors or lines)[-1][-200:] if lines else ""

    def stop(self):
        """End the broker (its clients see their connections close); start() reuses the port."""
        if self.running():
            stop_group(self.proc)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_group(proc, timeout=5.0):
    """SIGTERM a process and the group it leads (start_new_session=True); SIGKILL if it lingers."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            proc.send_signal(sig)  # it leads no group (or has exited: then a no-op)
        except PermissionError:
            pass
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def varint(n):
    """MQTT's variable byte integer (a remaining length); tools/rill_host/testing/brokers.py uses it too."""
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_string(s):
    """An MQTT string: its length in two bytes, then the bytes."""
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


class Message:
    def __init__(self, topic, payload, retain, qos):
        self.topic, self.payload, self.retain, self.qos = topic, payload, retain, qos
        self.time = time.monotonic()


class Client:
    def __init__(self, port, client_id="rill-host", host=HOST, keepalive=60):
        self.sock = socket.create_connection((host, port), 5)
        self.keepalive = keepalive
        self.buf = b""
        self.pid = 0
        self.held = []  # messages that arrived while waiting for a SUBACK
        body = mqtt_string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + mqtt_string(client_id)
        self.sock.sendall(b"\x10" + varint(len(body)) + body)
        kind, data = self._packet(5.0)
        if kind != 2 or len(data) < 2 or data[1] != 0:
            raise BrokerError("the broker refused the host client (CONNACK %r)" % data)
        self.last_tx = time.monotonic()

    def subscribe(self, topic, qos=1):
        self.pid += 1
        body = struct.pack("!H", self.pid) + mqtt_string(topic) + bytes([qos])
        self._send(b"\x82" + varint(len(body)) + body)
        while True:  # the SUBACK; retained messages may come first and are kept
            kind, data = self._packet(5.0)
            if kind == 9:
                return
            if kind == 3:
                self.held.append(self._publish(data))

    def publish(self, topic, payload, retain=False):
        t = mqtt_string(topic)
        data = payload.encode() if isinstance(payload, str) else payload
        self._send(bytes([0x30 | (1 if retain else 0)]) + varint(len(t) + len(data)) + t + data)

    def _send(self, data):
        self.sock.sendall(data)
        self.last_tx = time.monotonic()

    def _parse(self):
        """(type, flags, body) of the first whole packet in the buffer, or None."""
        buf = self.buf
        n, shift, i = 0, 0, 1
        while True:
            if i >= len(buf):
                return None
            b = buf[i]
            n |= (b & 0x7F) << shift
            shift += 7
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + n:
            return None
        self.buf = buf[i + n:]
        return buf[0] >> 4, buf[0] & 0x0F, buf[i:i + n]

    def _packet(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            got = self._parse()
            if got is not None:
                kind, self.flags, body = got
                return kind, body
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BrokerError("the broker closed the connection")
            self.buf += chunk

    def _publish(self, data):
        qos = (self.flags >> 1) & 3
        tlen = struct.unpack("!H", data[:2])[0]
        topic = data[2:2 + tlen].decode(errors="replace")
        i = 2 + tlen
        if qos:
            pid = data[i:i + 2]
            i += 2
            self._send(b"\x40\x02" + pid)  # PUBACK
        return Message(topic, data[i:], bool(self.flags & 1), qos)

    def receive(self, timeout):
        """The next PUBLISH as a Message, or None after ``timeout`` seconds."""
        if self.held:
            return self.held.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() - self.last_tx > self.keepalive / 2:
                self._send(b"\xc0\x00")  # PINGREQ
            try:
                kind, data = self._packet(max(0.0, min(deadline - time.monotonic(), 1.0)))
            except socket.timeout:
                if time.monotonic() >= deadline:
                    return None
                continue
            if kind == 3:
                return self._publish(data)

    def close(self):
        try:
            self._send(b"\xe0\x00")
        except OSError:
            pass
        self.sock.close()
