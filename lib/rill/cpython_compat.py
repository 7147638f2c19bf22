"""The one place CPython learns to look like MicroPython.

Imported by ``rill/__init__.py`` only when not running on MicroPython. It installs
what the library and umqtt.simple use from MicroPython: the ``micropython`` module,
``time.ticks_*``/``sleep_ms``, ``asyncio.sleep_ms`` and ``asyncio.ThreadSafeFlag``,
and the ``usocket``/``ustruct``/``ubinascii`` names with MicroPython's socket methods.
It also holds the CPython side of the few library pieces that must differ by runtime
(``Signal``, ``IoWait``, ``wrap_tls``, ``tls_certificate_reason``, ``json_loads``,
``json_dumps``): the library imports them from here in its ``else:`` branch. Nothing here runs on a board.
"""
import asyncio
import json
import sys
import time
import types

_TICKS_PERIOD = 1 << 30
_TICKS_HALF = _TICKS_PERIOD // 2


def _ticks(scale):
    return lambda: int(time.monotonic_ns() // scale) & (_TICKS_PERIOD - 1)


def ticks_diff(a, b):
    return ((a - b + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


def ticks_add(t, delta):
    return (t + delta) & (_TICKS_PERIOD - 1)


def _install_time():
    time.ticks_ms = _ticks(1000000)
    time.ticks_us = _ticks(1000)
    time.ticks_diff = ticks_diff
    time.ticks_add = ticks_add
    time.sleep_ms = lambda ms: time.sleep(ms / 1000)
    time.sleep_us = lambda us: time.sleep(us / 1000000)


def _install_micropython():
    mp = types.ModuleType("micropython")
    mp.const = lambda x: x
    mp.native = mp.viper = lambda f: f
    mp.heap_lock = mp.heap_unlock = lambda: 0
    mp.alloc_emergency_exception_buf = lambda n: None
    mp.schedule = lambda fn, arg: fn(arg)
    mp.mem_info = lambda *a: None
    sys.modules["micropython"] = mp


class ThreadSafeFlag:
    """asyncio.ThreadSafeFlag for CPython: set() may be called from any thread."""

    def __init__(self):
        self._event = asyncio.Event()
        self._loop = None

    def set(self):
        loop = self._loop
        if loop is None or not loop.is_running():
            self._event.set()
        else:
            loop.call_soon_threadsafe(self._event.set)

    def clear(self):
        self._event.clear()

    async def wait(self):
        self._loop = asyncio.get_running_loop()
        await self._event.wait()
        self._event.clear()


def _install_asyncio():
    asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    asyncio.ThreadSafeFlag = ThreadSafeFlag


if "micropython" not in sys.modules:
    _install_time()
    _install_micropython()
    _install_asyncio()


class Signal:
    """rill.buffers.Signal for CPython, on an asyncio.Event."""

    def __init__(self):
        self._event = asyncio.Event()

    @property
    def pending(self):
        return self._event.is_set()

    def set(self):
        self._event.set()

    def __await__(self):
        yield from self._event.wait().__await__()
        self._event.clear()


# --- MQTT: what rill.mqtt (and the tests' stock umqtt.simple) need on CPython ------
# umqtt.simple imports ``usocket``, ``ustruct`` and ``ubinascii`` and calls MicroPython's
# stream methods on its socket. ``usocket.socket`` below is a real CPython socket with
# those methods added, so rill.mqtt.session (and stock umqtt) construct it themselves and
# no wrapper sits in the data path. Semantics follow MicroPython: on a non-blocking
# socket read/readinto/write return None when they would block; on a blocking one
# read(n)/write(b) move all n bytes (or stop at EOF), as MicroPython's stream layer does.
import socket as _socket  # noqa: E402
import ssl as _ssl  # noqa: E402

_WOULD_BLOCK = (BlockingIOError, _ssl.SSLWantReadError, _ssl.SSLWantWriteError)


class _StreamMethods:
    def _blocking(self):
        return self.gettimeout() is None

    def write(self, buf, n=None):
        if isinstance(buf, str):  # MicroPython's str has the buffer protocol
            buf = buf.encode()
        if n is not None:
            buf = memoryview(buf)[:n]
        if self._blocking():
            self.sendall(buf)
            return len(buf)
        try:
            return self.send(buf)
        except _WOULD_BLOCK:
            return None

    def readinto(self, buf, n=None):
        n = len(buf) if n is None else n
        if not self._blocking():
            try:
                return self.recv_into(buf, n)
            except _WOULD_BLOCK:
                return None
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = self.recv_into(mv[got:n])
            if not k:
                break
            got += k
        return got

    def read(self, n=-1):
        if n < 0:
            n = 1 << 20
        buf = bytearray(n)
        k = self.readinto(buf, n)
        return None if k is None else bytes(buf[:k])


class MPSocket(_StreamMethods, _socket.socket):
    """socket.socket with MicroPython's read/readinto/write."""


class _TLSSocket(_StreamMethods):
    """A CPython SSLSocket with MicroPython's stream methods (CPython's SSLSocket
    already has read/write with other meanings, so this one wraps instead)."""

    def __init__(self, s):
        self._s = s

    def __getattr__(self, name):
        return getattr(self._s, name)

    def recv_into(self, buf, n=0):
        try:
            return self._s.recv_into(buf, n)
        except _ssl.SSLZeroReturnError:
            return 0


def wrap_tls(sock, tls, host):
    """rill.mqtt.tls.wrap on CPython: verify the certificate and the host name against
    ``cafile``/``cadata``, else the system's CA store; ``insecure=True`` verifies nothing.
    The handshake runs inside the first non-blocking reads and writes."""
    if tls.get("insecure"):
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
    else:
        cadata = tls.get("cadata")
        if isinstance(cadata, (bytes, bytearray)) and b"-----BEGIN" in cadata:
            cadata = cadata.decode()
        ctx = _ssl.create_default_context(cafile=tls.get("cafile"), cadata=cadata)
    s = ctx.wrap_socket(sock, server_hostname=tls.get("server_hostname", host),
                        do_handshake_on_connect=False)
    return _TLSSocket(s)


def tls_certificate_reason(e):
    """rill.mqtt.tls: the reason if ``e`` is a certificate failure, else None."""
    if isinstance(e, _ssl.SSLCertVerificationError):
        return "broker certificate not trusted (%s)" % (getattr(e, "verify_message", None) or e)
    return None


def _getaddrinfo(host, port, *args):
    # MicroPython's socket() is IPv4 and so are its addresses; match that.
    return _socket.getaddrinfo(host, port, _socket.AF_INET, _socket.SOCK_STREAM)


def _install_mqtt_modules():
    import binascii
    import struct

    us = types.ModuleType("usocket")
    for name in dir(_socket):
        if name.isupper():
            setattr(us, name, getattr(_socket, name))
    us.socket = MPSocket
    us.getaddrinfo = _getaddrinfo
    sys.modules.setdefault("usocket", us)
    sys.modules.setdefault("ustruct", struct)
    sys.modules.setdefault("ubinascii", binascii)


if "usocket" not in sys.modules:
    _install_mqtt_modules()


# --- runtime-specific pieces of rill.buffers and rill.mqtt, CPython side ------------

def _wake(fut):
    if not fut.done():
        fut.set_result(None)


class IoWait:
    """rill.mqtt.session.IoWait for CPython: await a socket's readiness on the running loop."""

    def __init__(self, sock, write=False):
        self.fd = sock.fileno()
        self.write = write

    def __await__(self):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fd = self.fd
        if self.write:
            loop.add_writer(fd, _wake, fut)
        else:
            loop.add_reader(fd, _wake, fut)
        try:
            yield from fut
        finally:
            if self.write:
                loop.remove_writer(fd)
            else:
                loop.remove_reader(fd)


def json_loads(b):
    """json.loads for a memoryview (MicroPython's takes one without a copy). Only called
    on a payload rill.strict has accepted, so both runtimes parse the same text."""
    return json.loads(bytes(b))


_BF = None  # the pattern of a \b or \f escape in JSON text, compiled on first need


def json_dumps(value, separators):
    """json.dumps writing text as MicroPython's does: UTF-8 as is (not ``\\u00e9``), and
    ``\\b``, ``\\f`` as ``\\u0008``, ``\\u000c``; with rill.jsontext, the same bytes on both runtimes."""
    global _BF
    text = json.dumps(value, separators=separators, ensure_ascii=False)
    if "\\b" in text or "\\f" in text:
        if _BF is None:
            import re

            _BF = re.compile(r"(?<!\\)((?:\\\\)*)\\([bf])")  # an escape: after an even run of backslashes
        text = _BF.sub(lambda m: m.group(1) + ("\\u0008" if m.group(2) == "b" else "\\u000c"), text)
    return text
