"""Transport: one non-blocking TCP (or TLS) connection to the broker.

``await open(timeout_ms)`` connects without blocking the loop (DNS excepted: it is
resolved once and kept), sets TCP_NODELAY (a QoS 1 window would otherwise wait ~40 ms
per round trip on delayed ACKs) and, with ``tls``, wraps the socket; the handshake
then runs inside the first reads and writes. ``write`` and ``readinto`` never block:
they return 0 / None when the socket is not ready. ``sock`` is what rill.wake.IoWait
parks on. Heap: a socket (and with TLS, mbedtls's buffers).
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
        pause = 1
        while not self._connected():
            if ticks_diff(ticks_ms(), t0) > timeout_ms:
                raise OSError(110, "connect timed out")
            await asyncio.sleep_ms(pause)
            pause = min(pause * 2, 20)
        if self.tls is not None:
            from . import tls

            if self.tls.get("insecure"):
                self.log("mqtt: TLS to %s WITHOUT certificate verification (insecure=True, for tests only)"
                         % self.server)
            self.sock = tls.wrap(self.sock, self.tls, self.server)

    def _connected(self):
        """Has the TCP connect finished? Raises if it failed."""
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

    def write(self, mv):
        """One non-blocking write; the bytes taken (0 when the socket is full)."""
        n = self.sock.write(mv)
        return n or 0

    def readinto(self, mv):
        """Bytes read into ``mv``, None if nothing is waiting; OSError once the broker closed."""
        n = self.sock.readinto(mv)
        if n == 0:
            raise OSError(104, "connection closed by broker")
        return n

    def close(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
