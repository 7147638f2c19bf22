"""Wire: umqtt.simple's MQTTClient made safe to run inside an asyncio loop.

The parent blocks: it connects with a blocking socket, writes each packet in several
small writes (Nagle then adds ~40 ms per QoS 1 round trip), and waits for every PUBACK.
This subclass keeps the parent's configuration (client id, server, credentials,
keepalive, ``set_last_will``) and ``MQTTException``, and replaces the I/O:

- a non-blocking socket with TCP_NODELAY; ``await connect()`` has a deadline;
- every packet is built whole in a preallocated buffer and leaves in one ``write``;
- nothing waits for PUBACK: QoS 1 packet ids are reported to ``handler.on_puback``
  as they arrive, so the caller can keep a window of packets in flight;
- incoming packets are parsed from one fixed receive buffer. A PUBLISH bigger than
  that buffer is read through it in chunks and thrown away (``handler.on_oversize``),
  and still acknowledged, so a huge payload costs time, never memory.

``handler`` is any object with ``on_publish(topic, payload, qos)``, ``on_oversize(topic,
size)``, ``on_puback(pid)`` and ``on_suback(pid, codes)``; the memoryviews it receives
are valid only during the call.
"""
import asyncio
import sys
import time

import usocket as socket
from umqtt.simple import MQTTClient, MQTTException

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff

if sys.implementation.name == "micropython":
    def _tls(sock, tls, host):
        import ssl as _ssl  # only when TLS is asked for: the module costs heap

        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        if tls.get("cafile"):
            ctx.verify_mode = _ssl.CERT_REQUIRED
            with open(tls["cafile"], "rb") as f:
                data = f.read()
            for der in _der(data):  # some ports' mbedtls parse DER only
                ctx.load_verify_locations(cadata=der)
        else:
            ctx.verify_mode = _ssl.CERT_NONE
        return ctx.wrap_socket(sock, server_hostname=tls.get("server_hostname", host),
                               do_handshake_on_connect=False)

    def _der(data):
        """DER certificates from a PEM file (or the DER file itself)."""
        if b"-----BEGIN" not in data:
            return [data]
        from binascii import a2b_base64

        out = []
        for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]:
            out.append(a2b_base64(block.split(b"-----END")[0]))
        return out

else:
    from rill.cpython_compat import wrap_tls as _tls  # noqa: F811

_IPPROTO_TCP = 6  # not exported by every port; the numbers are the same on Linux and lwIP
_TCP_NODELAY = 1
_EINPROGRESS = (115, 36, 119)  # Linux, BSD/macOS, lwIP


class ProtocolError(OSError):
    """The broker sent something that is not MQTT 3.1.1: the connection is dropped."""


def _b(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode()


def put_len(buf, i, n):
    """Write MQTT remaining length ``n`` at ``buf[i]``; return the index after it."""
    while n > 0x7F:
        buf[i] = (n & 0x7F) | 0x80
        n >>= 7
        i += 1
    buf[i] = n
    return i + 1


def len_size(n):
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3 if n < 0x200000 else 4


def put_str(buf, i, s):
    n = len(s)
    buf[i] = n >> 8
    buf[i + 1] = n & 0xFF
    buf[i + 2:i + 2 + n] = s
    return i + 2 + n


class Wire(MQTTClient):
    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=60,
                 tls=None, rx_size=1024, ctl_size=512):
        super().__init__(_b(client_id), server, port or (8883 if tls else 1883),
                         None if user is None else _b(user),
                         None if password is None else _b(password), keepalive, ssl=bool(tls))
        self.tls = tls  # None, or a dict: cafile=, server_hostname=
        self.rx = bytearray(rx_size)
        self._rxv = memoryview(self.rx)
        self._rs = 0  # unparsed bytes are rx[_rs:_re]
        self._re = 0
        self.skip = 0  # bytes of an oversize PUBLISH still to throw away
        self.ctl = bytearray(ctl_size)
        self._ctlv = memoryview(self.ctl)
        self._cs = 0  # queued control bytes are ctl[_cs:_cn]
        self._cn = 0
        self.handler = None
        self.addr = None
        self.connack = None
        self.stalled = False  # rx parsing paused: no room to queue a PUBACK
        self.last_rx = self.last_tx = ticks_ms()
        self._poll = None

    # -- set-up ----------------------------------------------------------------------

    def set_last_will(self, topic, msg, retain=False, qos=0):
        super().set_last_will(_b(topic), _b(msg), retain, qos)

    def _open(self):
        if self.addr is None:  # DNS blocks on a board; resolve once and keep it
            self.addr = socket.getaddrinfo(self.server, self.port)[0][-1]
        self.close()
        s = socket.socket()
        self.sock = s
        s.setblocking(False)
        try:
            s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # a port without TCP_NODELAY: one write per packet still avoids the worst
        try:
            s.connect(self.addr)
        except OSError as e:
            if e.args[0] not in _EINPROGRESS:
                raise
        self._rs = self._re = self.skip = self._cs = self._cn = 0
        self.connack = None
        self.stalled = False

    def _connected(self):
        """Non-blocking: has the TCP connect finished? Raises if it failed."""
        import select

        p = self._poll
        if p is None:
            p = self._poll = select.poll()
        p.register(self.sock, select.POLLOUT)
        try:
            ev = p.poll(0)
        finally:
            p.unregister(self.sock)
        if not ev:
            return False
        if ev[0][1] & (select.POLLERR | select.POLLHUP):
            self.sock.write(b"\xc0\0")  # raises the pending error (e.g. ECONNREFUSED)
            raise OSError(111)
        return True

    def _connect_packet(self, clean_session):
        cid, user, pswd = self.client_id, self.user, self.pswd
        flags = clean_session << 1
        n = 10 + 2 + len(cid)
        if self.lw_topic:
            n += 4 + len(self.lw_topic) + len(self.lw_msg)
            flags |= 0x4 | (self.lw_qos & 3) << 3 | self.lw_retain << 5
        if user is not None:
            n += 2 + len(user)
            flags |= 0x80
            if pswd is not None:
                n += 2 + len(pswd)
                flags |= 0x40
        b = self._reserve(1 + len_size(n) + n)
        if b < 0:
            raise ValueError("CONNECT does not fit in ctl_size")
        buf = self.ctl
        buf[b] = 0x10
        i = put_len(buf, b + 1, n)
        i = put_str(buf, i, b"MQTT")
        buf[i] = 4
        buf[i + 1] = flags
        buf[i + 2] = self.keepalive >> 8
        buf[i + 3] = self.keepalive & 0xFF
        i = put_str(buf, i + 4, cid)
        if self.lw_topic:
            i = put_str(buf, i, self.lw_topic)
            i = put_str(buf, i, self.lw_msg)
        if user is not None:
            i = put_str(buf, i, user)
            if pswd is not None:
                i = put_str(buf, i, pswd)

    async def connect(self, clean_session=True, timeout_ms=5000):
        """Open the connection and finish CONNECT/CONNACK within ``timeout_ms``.

        Returns the session-present flag. Raises MQTTException(code) when the broker
        refuses, OSError on network errors, ProtocolError on garbage, and
        OSError(110, ETIMEDOUT) when the deadline passes. The loop never blocks,
        except on DNS, which is resolved once per Wire.
        """
        t0 = ticks_ms()
        self._open()
        pause = 1
        while not self._connected():
            if ticks_diff(ticks_ms(), t0) > timeout_ms:
                raise OSError(110, "connect timed out")
            await asyncio.sleep_ms(pause)
            pause = min(pause * 2, 20)
        if self.tls:
            self.sock = _tls(self.sock, self.tls, self.server)
        self._connect_packet(clean_session)
        self.last_rx = ticks_ms()
        pause = 1
        while self.connack is None:
            self.flush_ctl()
            try:
                n = self.pump(4096)
            except ProtocolError:
                raise
            except OSError:
                if self.connack is None:  # a refusal is often followed at once by a close
                    raise
                break
            if n is None:
                if ticks_diff(ticks_ms(), t0) > timeout_ms:
                    raise OSError(110, "no CONNACK within %d ms" % timeout_ms)
                await asyncio.sleep_ms(pause)
                pause = min(pause * 2, 20)
        sp, rc = self.connack
        if rc:
            raise MQTTException(rc)
        return sp

    def close(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    # -- output ----------------------------------------------------------------------

    def _reserve(self, n):
        """Room for ``n`` control bytes: the index to write them at, or -1."""
        cs, cn = self._cs, self._cn
        if cs == cn:
            self._cs = self._cn = cs = cn = 0
        if cn + n > len(self.ctl):
            if cs == 0 or cn - cs + n > len(self.ctl):
                return -1
            self.ctl[0:cn - cs] = self._ctlv[cs:cn]
            self._cs, cn = 0, cn - cs
        self._cn = cn + n
        return cn

    def _room(self):
        return len(self.ctl) - self._cn + self._cs

    def ctl_pending(self):
        return self._cn - self._cs

    def write(self, mv):
        """One non-blocking write; return the bytes taken (0 when the socket is full)."""
        n = self.sock.write(mv)
        if n:
            self.last_tx = ticks_ms()
            return n
        return 0

    def flush_ctl(self):
        """Write queued control packets; True when none are left."""
        if self._cs == self._cn:
            return True
        self._cs += self.write(self._ctlv[self._cs:self._cn])
        return self._cs == self._cn

    def ping(self):
        i = self._reserve(2)
        if i >= 0:
            self.ctl[i] = 0xC0
            self.ctl[i + 1] = 0
        return i >= 0

    def queue_disconnect(self):
        i = self._reserve(2)
        if i >= 0:
            self.ctl[i] = 0xE0
            self.ctl[i + 1] = 0
        return i >= 0

    def disconnect(self):
        """Best effort DISCONNECT (suppresses the last will), then close; never blocks."""
        if self.sock is not None:
            try:
                self.queue_disconnect()
                self.flush_ctl()
            except OSError:
                pass
        self.close()

    def publish(self, topic, msg, retain=False, qos=0, pid=0):
        """Queue a PUBLISH (whole) behind other control packets; return False if no room.

        Used for small out-of-band messages (birth, offline); bulk data goes through the
        Outbox, which holds finished packets. For QoS 1 pass a ``pid``; its PUBACK goes
        to ``handler.on_puback``.
        """
        topic = _b(topic)
        msg = _b(msg)
        n = 2 + len(topic) + len(msg) + (2 if qos else 0)
        i = self._reserve(1 + len_size(n) + n)
        if i < 0:
            return False
        buf = self.ctl
        buf[i] = 0x30 | qos << 1 | retain
        i = put_str(buf, put_len(buf, i + 1, n), topic)
        if qos:
            buf[i] = pid >> 8
            buf[i + 1] = pid & 0xFF
            i += 2
        buf[i:i + len(msg)] = msg
        return True

    def subscribe(self, topic, qos=0, pid=1):
        return self.subscribe_many(((_b(topic), qos),), pid)

    def subscribe_many(self, filters, pid):
        """Queue one SUBSCRIBE carrying every (filter, qos); False if it does not fit."""
        n = 2
        for f, q in filters:
            n += 3 + len(f)
        i = self._reserve(1 + len_size(n) + n)
        if i < 0:
            return False
        buf = self.ctl
        buf[i] = 0x82
        i = put_len(buf, i + 1, n)
        buf[i] = pid >> 8
        buf[i + 1] = pid & 0xFF
        i += 2
        for f, q in filters:
            i = put_str(buf, i, f)
            buf[i] = q
            i += 1
        return True

    # -- input -----------------------------------------------------------------------

    def check_msg(self):
        """umqtt's polling entry point, non-blocking here: read and dispatch what arrived."""
        return self.pump(len(self.rx))

    wait_msg = check_msg

    def pump(self, budget):
        """Read and dispatch up to about ``budget`` bytes without blocking.

        Returns the bytes read, None if nothing was waiting. Raises OSError when the
        broker closed the connection, ProtocolError on a malformed packet.
        """
        sock = self.sock
        rxv = self._rxv
        cap = len(self.rx)
        got = 0
        while got < budget:
            if self.stalled:
                self.stalled = False
                self._parse()
                if self.stalled:
                    break
            if self.skip:
                n = sock.readinto(rxv[:min(self.skip, cap)])
                if n:
                    self.skip -= n
            else:
                n = sock.readinto(rxv[self._re:])
                if n:
                    self._re += n
            if n is None:
                break
            if n == 0:
                raise OSError(104, "connection closed by broker")
            got += n
            self.last_rx = ticks_ms()
            if not self.skip:
                self._parse()
        return got or None

    def _parse(self):
        buf = self.rx
        i, end = self._rs, self._re
        h = self.handler
        while end - i >= 2:
            op = buf[i]
            rem = buf[i + 1]
            hl = 2
            if rem & 0x80:
                rem &= 0x7F
                shift = 7
                while True:
                    if i + hl >= end:
                        break
                    b = buf[i + hl]
                    hl += 1
                    rem |= (b & 0x7F) << shift
                    if not b & 0x80:
                        break
                    shift += 7
                    if hl > 4:
                        raise ProtocolError("bad remaining length")
                if buf[i + hl - 1] & 0x80:
                    break  # length not complete yet
            total = hl + rem
            if end - i < total:
                if total > len(buf) and self._oversize(op, i, hl, rem, end):
                    return
                break
            if op == 0x40:
                if rem != 2:
                    raise ProtocolError("bad PUBACK")
                h.on_puback(buf[i + 2] << 8 | buf[i + 3])
            elif op & 0xF0 == 0x30:
                if op & 6 and self._room() < 4:
                    self.stalled = True  # no room for the PUBACK: resume after tx drains
                    break
                self._publish(op, i + hl, rem)
            elif op == 0xD0:
                pass
            elif op == 0x90:
                if rem < 3:
                    raise ProtocolError("bad SUBACK")
                h.on_suback(buf[i + 2] << 8 | buf[i + 3], self._rxv[i + 4:i + total])
            elif op == 0x20:
                if rem != 2 or self.connack is not None:
                    raise ProtocolError("bad CONNACK")
                self.connack = (buf[i + 2] & 1, buf[i + 3])
            elif op == 0xB0:
                pass
            else:
                raise ProtocolError("unexpected packet 0x%02x" % op)
            i += total
        if i == end:
            self._rs = self._re = 0
        elif i:
            self.rx[0:end - i] = self._rxv[i:end]
            self._rs, self._re = 0, end - i
        else:
            self._rs = i

    def _publish(self, op, i, rem):
        buf = self.rx
        qos = (op >> 1) & 3
        if qos > 1:
            raise ProtocolError("QoS %d PUBLISH" % qos)
        tl = buf[i] << 8 | buf[i + 1]
        body = 2 + tl + (2 if qos else 0)
        if body > rem:
            raise ProtocolError("bad PUBLISH")
        topic = self._rxv[i + 2:i + 2 + tl]
        if qos:
            pid = buf[i + 2 + tl] << 8 | buf[i + 3 + tl]
        self.handler.on_publish(topic, self._rxv[i + body:i + rem], qos)
        if qos:
            self._puback(pid)

    def _puback(self, pid):
        j = self._reserve(4)
        if j >= 0:
            c = self.ctl
            c[j] = 0x40
            c[j + 1] = 2
            c[j + 2] = pid >> 8
            c[j + 3] = pid & 0xFF

    def _oversize(self, op, i, hl, rem, end):
        """A packet bigger than the receive buffer: only a PUBLISH may be. Once its topic
        (and packet id) are in, report it, acknowledge it and skip the rest. True when
        it switched to skipping; False when more of the header must be read first."""
        if op & 0xF0 != 0x30 or self.connack is None:
            raise ProtocolError("oversize packet 0x%02x (%d bytes)" % (op, rem))
        buf = self.rx
        qos = (op >> 1) & 3
        if qos > 1:
            raise ProtocolError("QoS %d PUBLISH" % qos)
        if end - i < hl + 2:
            return False
        tl = buf[i + hl] << 8 | buf[i + hl + 1]
        head = hl + 2 + tl + (2 if qos else 0)
        if head <= len(buf):
            if end - i < head:
                return False  # the caller moves it to the front; read the rest of the header
            if self._room() < 4:
                self.stalled = True
                return False
            self.handler.on_oversize(self._rxv[i + hl + 2:i + hl + 2 + tl], rem - head + hl)
            if qos:
                self._puback(buf[i + head - 2] << 8 | buf[i + head - 1])
        else:
            self.handler.on_oversize(self._rxv[i + hl + 2:end], rem - head + hl)
        self.skip = hl + rem - (end - i)
        self._rs = self._re = 0
        return True
