"""Host-side MQTT for the demo and the tool tests: a throwaway broker and a tiny client.

``Broker()`` runs mosquitto (with a generated config: loopback listener on a free
port, anonymous, no persistence) or, where mosquitto is not installed, amqtt from the
venv; ``stop()`` ends its process group. ``Client`` is a minimal blocking MQTT 3.1.1
client (stdlib only): subscribe, receive QoS 0/1 PUBLISH with their retain flag,
publish QoS 0. Everything here talks to 127.0.0.1 only.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mosquitto():
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


class BrokerError(Exception):
    pass


class Broker:
    def __init__(self, kind=None, amqtt=None):
        self.port = free_port()
        self.kind = kind or ("mosquitto" if mosquitto() else "amqtt")
        self.dir = tempfile.mkdtemp(prefix="rill-broker-")
        self.log = os.path.join(self.dir, "broker.log")
        if self.kind == "mosquitto":
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("listener %d %s\nallow_anonymous true\npersistence false\nlog_dest stderr\n" % (self.port, HOST))
            self.cmd = [mosquitto(), "-c", conf]
        else:
            exe = amqtt or shutil.which("amqtt")
            if not exe:
                raise BrokerError("no MQTT broker: install mosquitto (apt-get install mosquitto) or run 'make setup' for amqtt")
            conf = os.path.join(self.dir, "amqtt.yaml")
            with open(conf, "w") as f:
                f.write("listeners:\n  default:\n    type: tcp\n    bind: %s:%d\nplugins:\n"
                        "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
                        % (HOST, self.port))
            self.cmd = [exe, "-c", conf]
        self.proc = None

    def start(self, timeout=10.0):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError("%s exited at start (status %s); see %s" % (self.kind, self.proc.returncode, self.log))
            try:
                socket.create_connection((HOST, self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError("%s did not listen on %s:%d within %gs" % (self.kind, HOST, self.port, timeout))

    def stop(self):
        stop_group(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_group(proc, timeout=5.0):
    """SIGTERM a process started with start_new_session=True, and its group; SIGKILL if it lingers."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
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
        body = _str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _str(client_id)
        self.sock.sendall(b"\x10" + _varint(len(body)) + body)
        kind, data = self._packet(5.0)
        if kind != 2 or len(data) < 2 or data[1] != 0:
            raise BrokerError("the broker refused the host client (CONNACK %r)" % data)
        self.last_tx = time.monotonic()

    def subscribe(self, topic, qos=1):
        self.pid += 1
        body = struct.pack("!H", self.pid) + _str(topic) + bytes([qos])
        self._send(b"\x82" + _varint(len(body)) + body)
        while True:  # the SUBACK; retained messages may come first and are kept
            kind, data = self._packet(5.0)
            if kind == 9:
                return
            if kind == 3:
                self.held.append(self._publish(data))

    def publish(self, topic, payload, retain=False):
        t = _str(topic)
        data = payload.encode() if isinstance(payload, str) else payload
        self._send(bytes([0x30 | (1 if retain else 0)]) + _varint(len(t) + len(data)) + t + data)

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
