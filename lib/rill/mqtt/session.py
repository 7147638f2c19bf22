"""Session: one MQTT connection's life, from CONNECT to its end, inside the asyncio loop.

Three tasks share the transport: rx (parse what arrived, from one fixed receive
buffer), tx (control packets first, then the outbox's regions: QoS 1 keeps up to
``window`` packets in flight, acknowledged by PUBACKs as they come), and keepalive.
Liveness is judged on answers, not on bytes: a PINGREQ goes out every half keepalive
and its PINGRESP must come back within ``ping_timeout_ms``; while QoS 1 packets are in
flight, some PUBACK must come every ``ack_timeout_ms``. A broker that trickles bytes
and never answers is declared dead (OSError 110) and the Bridge reconnects.

Stopping has one home, close.py (loaded on first use): ``await stop(s, timeout_ms,
ended)`` lets the tx task deliver what the outbox holds until the deadline, then queue
the goodbye (retained ``offline`` and DISCONNECT) and flush it; past the deadline and a
grace period the session is ended regardless. A control packet that does not fit the queue
(birth, SUBSCRIBE, goodbye) is a dead letter (``unsent``), never a silent loss.

A PUBLISH bigger than the receive buffer is read through it in chunks, reported
(``inbox.oversize``) and acknowledged, so a huge payload costs time, never memory.
``inbox`` has ``deliver(topic, payload, qos)`` (inbound.py has SUBACKs and oversize
messages); the memoryviews it gets are valid only during the call.
Heap: the receive buffer (``rx_size``) and the control queue (``ctl_size``).

Transport: one non-blocking TCP (or TLS) connection to the broker. ``await open(timeout)``
connects without blocking the loop (DNS excepted: it is resolved once and kept), sets
TCP_NODELAY (a QoS 1 window would otherwise wait ~40 ms per round trip on delayed ACKs)
and, with ``tls``, wraps the socket (tls.wrap); the handshake then runs inside the
first reads and writes. The session reads and writes ``sock`` itself, never blocking (a
write takes 0 or None bytes when the socket is full, a read gives None when nothing
waits, 0 once the broker closed); ``sock`` is also what rill.buffers.IoWait parks on.
Heap: a socket (and with TLS, mbedtls's buffers).
"""
import asyncio
import time

from micropython import const

from ..buffers import IoWait
from .packet import PINGREQ, ProtocolError, Refused, fail, header, publish_qos

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff

_RX_BUDGET = const(512)  # bytes handled per turn before yielding to other tasks
# the opcodes received (packet.py writes what is sent)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBACK = const(0x90)
_UNSUBACK = const(0xB0)
_PINGRESP = const(0xD0)
_IPPROTO_TCP = const(6)  # not exported by every port; the numbers are the same on Linux and lwIP
_TCP_NODELAY = const(1)
# packet.fail's errors (diag.ERRORS)
_E_PUBACK = const(2)
_E_PUBLISH = const(3)
_E_SUBACK = const(4)
_E_CONNACK = const(5)
_E_UNEXPECTED = const(6)
_E_OVERSIZE = const(7)
_E_NO_CONNACK = const(8)
_E_SILENT = const(9)
_E_STALLED = const(10)
_E_TIMEOUT = const(11)
_E_CLOSED = const(12)
_E_HELLO = const(13)


class Session:
    """Made by start.session (the setup code), with the packets it sends on each
    connection: ``hello`` (CONNECT), ``birth`` and ``goodbye`` ((status topic, PUBLISH)),
    ``sub`` (SUBSCRIBE, or None)."""

    # -- control queue -------------------------------------------------------------------

    def _reserve(self, n):
        """Room for ``n`` control bytes: the index to write them at, or -1."""
        cs, cn = self.head, self.tail
        if cs == cn:
            self.head = self.tail = cs = cn = 0
        if cn + n > len(self.ctl):
            if cs == 0 or cn - cs + n > len(self.ctl):
                return -1
            self.ctl[0:cn - cs] = self._ctlv[cs:cn]
            self.head, cn = 0, cn - cs
        self.tail = cn + n
        return cn

    def push(self, data):
        """Queue a finished control packet; False if it does not fit."""
        i = self._reserve(len(data))
        if i >= 0:
            self.ctl[i:i + len(data)] = data
        return i >= 0

    def flush(self):
        """Write queued control packets; True when none are left."""
        if self.head != self.tail:
            self.head += self.t.sock.write(self._ctlv[self.head:self.tail]) or 0
        return self.head == self.tail

    # -- connect ---------------------------------------------------------------------------

    async def connect(self, timeout):
        """Open the transport and finish CONNECT/CONNACK within ``timeout`` ms. Raises
        Refused(code), OSError (110 on the deadline) or ProtocolError."""
        t0 = ticks_ms()
        self.start = self.pos = self.skip = self.head = self.tail = 0
        self.code = None
        self.stalled = self.said_bye = False
        await self.t.open(timeout)
        if not self.push(self.hello):
            raise fail(_E_HELLO)
        pause = 1
        while self.code is None:
            self.flush()
            try:
                n = self.read(4096)
            except ProtocolError:
                raise
            except OSError:
                if self.code is None:  # a refusal is often followed at once by a close
                    raise
                break
            if n is None:
                if ticks_diff(ticks_ms(), t0) > timeout:
                    raise fail(_E_NO_CONNACK, timeout)
                await asyncio.sleep_ms(pause)
                pause = min(pause * 2, 20)
        if self.code:
            raise Refused(self.code)

    # -- input -----------------------------------------------------------------------------

    def read(self, n):
        """Read and dispatch up to about ``n`` bytes without blocking: the bytes read,
        None if nothing was waiting. OSError once the broker closed."""
        sock = self.t.sock
        rxv = self._rxv
        got = 0
        while got < n:
            if self.stalled:
                self.stalled = False
                self.parse()
                if self.stalled:
                    break
            skip = self.skip
            k = sock.readinto(rxv[:min(skip, len(rxv))] if skip else rxv[self.pos:])
            if k is None:
                break
            if k == 0:
                raise fail(_E_CLOSED)
            if skip:
                self.skip = skip - k
            else:
                self.pos += k
            got += k
            if not self.skip:
                self.parse()
        return got or None

    def parse(self):
        buf = self.rx
        ctl = self.ctl
        i, end = self.start, self.pos
        while end - i >= 2:
            op = buf[i]
            h = header(buf, i, end)
            if h < 0:
                break
            hl = h & 7
            rem = h >> 3
            total = hl + rem
            if end - i < total:
                if total > len(buf):
                    if op & 0xF0 != _PUBLISH or self.code is None:
                        raise fail(_E_OVERSIZE, op, rem)
                    from .inbound import oversized  # only a subscriber gets a PUBLISH

                    if oversized(self, i, hl, rem, end):
                        return
                break
            if op == _PUBACK:
                if rem != 2:
                    raise fail(_E_PUBACK)
                if self.outbox.ack(buf[i + 2] << 8 | buf[i + 3]):
                    self.tx.set()
            elif op & 0xF0 == _PUBLISH:
                qos = publish_qos(op)
                if qos and len(ctl) - self.tail + self.head < 4:
                    self.stalled = True  # no room for the PUBACK: resume after tx drains
                    break
                j = i + hl  # the topic's length, the topic, [the packet id,] the payload
                t = j + 2 + (buf[j] << 8 | buf[j + 1])
                if t + 2 * qos > j + rem:
                    raise fail(_E_PUBLISH)
                self.inbox.deliver(self._rxv[j + 2:t], self._rxv[t + 2 * qos:j + rem], qos)
                if qos:  # the PUBACK: its packet id copied from the PUBLISH
                    k = self._reserve(4)
                    if k >= 0:
                        ctl[k] = _PUBACK
                        ctl[k + 1] = 2
                        ctl[k + 2] = buf[t]
                        ctl[k + 3] = buf[t + 1]
            elif op == _PINGRESP:
                self.pongs += 1
            elif op == _SUBACK:
                if rem < 3:
                    raise fail(_E_SUBACK)
                from .inbound import suback  # only a subscriber gets a SUBACK: once per connection

                suback(self.inbox, self._rxv[i + 4:i + total])
            elif op == _CONNACK:
                if rem != 2 or self.code is not None:
                    raise fail(_E_CONNACK)
                self.code = buf[i + 3]
            elif op != _UNSUBACK:
                raise fail(_E_UNEXPECTED, op)
            i += total
        if i == end:
            self.start = self.pos = 0
        elif i:
            buf[0:end - i] = self._rxv[i:end]
            self.start, self.pos = 0, end - i
        else:
            self.start = i

    # -- the session's tasks ---------------------------------------------------------------

    async def run(self):
        """Run rx, tx and keepalive until one fails or the session is stopped; re-raise
        the failure. The birth goes first, retained, then the SUBSCRIBE (if any); what
        does not fit the control queue is a dead letter (close.reject)."""
        birth = self.birth
        sub = self.sub
        if not self.push(birth[1]):
            from .close import reject

            reject(self, "birth", birth[0])
        if sub and not self.push(sub):
            from .close import reject

            reject(self, "subscribe", sub)
        self.error = None
        end = self.end = asyncio.Event()
        sock = self.t.sock
        tasks = [asyncio.create_task(self._rx_loop(IoWait(sock))),
                 asyncio.create_task(self._tx_loop(IoWait(sock, True))),
                 asyncio.create_task(self._keepalive())]
        self.tx.set()
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
        if self.error is not None:
            raise self.error

    def _ended(self, e=None):
        """A task of the session ended (``e``: its failure, else None): the session ends,
        and run() re-raises the first failure. (Each task catches its own: a wrapping
        coroutine per task would cost a generator each while the session runs.)"""
        if self.error is None:
            self.error = e
        self.end.set()

    async def _rx_loop(self, wait):
        try:
            while True:
                n = self.read(_RX_BUDGET)
                if self.stalled:  # replies are backed up behind a full socket
                    self.tx.set()
                    await asyncio.sleep_ms(1)
                elif n is None:
                    if self.tail != self.head:
                        self.tx.set()
                    await wait
                elif n >= _RX_BUDGET:
                    if self.tail != self.head:
                        self.tx.set()
                    await asyncio.sleep_ms(0)
        except Exception as e:
            self._ended(e)

    async def _tx_loop(self, wait):
        t = self.t
        ob = self.outbox
        try:
            while True:
                if self.tail != self.head and not ob._busy:
                    if not self.flush():
                        await wait
                    continue
                if self.stopping and (ob.pending() == 0 or ticks_diff(ticks_ms(), self.close_by) > 0):
                    from .close import flush  # once: the session ends

                    await flush(self)
                    self._ended()
                    return
                mv = ob.region()
                if mv is None:
                    await self.tx
                    continue
                n = t.sock.write(mv) or 0
                ob.wrote(n)
                if n < len(mv):
                    await wait
                else:
                    await asyncio.sleep_ms(0)  # let the producers run between writes
        except Exception as e:
            self._ended(e)

    async def _keepalive(self):
        ka = self.keepalive * 1000  # 0: no pings, but the PUBACK deadline still holds
        half = ka // 2
        ob = self.outbox
        pinged = ticks_ms()
        pongs = self.pongs
        waiting = False  # a PINGREQ is out, its PINGRESP not yet in
        acks = ob.acked
        progress = pinged  # last PUBACK, or when the window was last empty
        try:
            while True:
                await asyncio.sleep_ms(max(50, min(ka // 8 if ka else 1000, self.ping_timeout // 4,
                                                   self.ack_timeout // 4)))
                now = ticks_ms()
                if waiting and self.pongs != pongs:
                    waiting = False
                if waiting and ticks_diff(now, pinged) > self.ping_timeout:
                    raise fail(_E_SILENT, self.ping_timeout)
                if ob.inflight == 0 or ob.acked != acks:
                    acks = ob.acked
                    progress = now
                elif ticks_diff(now, progress) > self.ack_timeout:
                    raise fail(_E_STALLED, ticks_diff(now, progress), ob.inflight)
                if ka and not waiting and ticks_diff(now, pinged) >= half and self.push(PINGREQ):
                    pinged = now
                    pongs = self.pongs
                    waiting = True
                    self.tx.set()
        except Exception as e:
            self._ended(e)


class Transport:
    """Made by prep.bridge: ``server``, ``port``, ``tls``, ``addr``, ``sock``, ``log``."""

    async def open(self, timeout):
        """Connect within ``timeout`` ms; OSError(110) when the deadline passes."""
        import select

        import usocket as socket  # here, not at the top: rill.mqtt imports on a port without sockets

        t0 = ticks_ms()
        if self.tls is not None:
            from .tls import clock

            clock(self)  # no TCP connect while the clock cannot check a certificate
        if self.addr is None:  # DNS blocks on a board; resolve once and keep it
            self.addr = socket.getaddrinfo(self.server, self.port)[0][-1]
        self.close()
        s = self.sock = socket.socket()
        s.setblocking(False)
        try:
            s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # a port without TCP_NODELAY: one write per packet still avoids the worst
        try:
            s.connect(self.addr)
        except OSError as e:
            if e.args[0] not in (115, 36, 119):  # EINPROGRESS: Linux, BSD/macOS, lwIP
                raise
        p = select.poll()
        p.register(s, select.POLLOUT)
        pause = 1
        while True:  # has the TCP connect finished?
            ev = p.poll(0)
            if ev:
                if ev[0][1] & (select.POLLERR | select.POLLHUP):
                    s.write(b"\xc0\0")  # raises the pending error (e.g. ECONNREFUSED)
                    raise OSError(111)
                break
            if ticks_diff(ticks_ms(), t0) > timeout:
                raise fail(_E_TIMEOUT)
            await asyncio.sleep_ms(pause)
            pause = min(pause * 2, 20)
        p.unregister(s)
        if self.tls is not None:
            from .tls import wrap

            self.sock = wrap(self)

    def close(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
