"""Transport: one non-blocking TCP (or TLS) connection to the broker.

``await open(timeout_ms)`` connects without blocking the loop (DNS excepted: it is
resolved once and kept), sets TCP_NODELAY (a QoS 1 window would otherwise wait ~40 ms
per round trip on delayed ACKs) and, with ``tls``, wraps the socket (tls.secure); the
handshake then runs inside the first reads and writes. The session reads and writes
``sock`` itself, never blocking (a write takes 0 or None bytes when the socket is full,
a read gives None when nothing waits, 0 once the broker closed); ``sock`` is also what
rill.wake.IoWait parks on. Heap: a socket (and with TLS, mbedtls's buffers).
"""
import asyncio
import time

_IPPROTO_TCP = 6  # not exported by every port; the numbers are the same on Linux and lwIP
_TCP_NODELAY = 1
_EINPROGRESS = (115, 36, 119)  # Linux, BSD/macOS, lwIP

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff


class Transport:
    """Made by prep.bridge: ``server``, ``port``, ``tls``, ``addr``, ``sock``, ``log``."""

    async def open(self, timeout_ms):
        """Connect within ``timeout_ms``; OSError(110) when the deadline passes."""
        import select

        import usocket as socket  # here, not at the top: rill.mqtt imports on a port without sockets

        t0 = ticks_ms()
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
            if e.args[0] not in _EINPROGRESS:
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
            if ticks_diff(ticks_ms(), t0) > timeout_ms:
                from .packet import fail

                raise fail(11)  # connect timed out
            await asyncio.sleep_ms(pause)
            pause = min(pause * 2, 20)
        p.unregister(s)
        if self.tls is not None:
            from .tls import secure

            self.sock = secure(self)

    def close(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
