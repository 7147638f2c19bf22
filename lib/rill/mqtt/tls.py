"""TLS for the transport: certificate and host name verified unless ``insecure=True``.

``tls`` is a dict: ``cafile`` (PEM or DER file) or ``cadata`` (bytes) name the CA;
``server_hostname`` the name the certificate must carry (default: the broker's host);
``insecure=True`` turns verification off, for tests only, and is logged at every
connect. CPython uses the system's CA store when no CA is given. MicroPython has no CA
store, so a bridge there refuses to start without ``cafile``/``cadata``.

Imported only when TLS is asked for (the ssl module costs heap on a board). The seam
is a try-import: CPython's ssl has ``create_default_context``, MicroPython's has not.
"""
import time


def check(tls):
    """Raise ValueError (one sentence) if ``tls`` cannot verify on this runtime."""
    if not isinstance(tls, dict):
        raise ValueError("tls must be a dict: cafile=, cadata=, server_hostname=, insecure=")
    if _NEEDS_CA and not (tls.get("insecure") or tls.get("cafile") or tls.get("cadata")):
        raise ValueError("TLS on MicroPython needs tls={'cafile': ...} or {'cadata': ...}: "
                         "the board has no CA store to verify the broker with")


def reason(e):
    """The reason if ``e`` (raised by the handshake) is a certificate failure, else None."""
    why = _cert_reason(e)
    if why is None:
        return None
    if time.gmtime()[0] < 2024:
        return why + " (the board's clock is not set, so certificate dates cannot be checked: set it, e.g. ntptime)"
    return why


def clock(t):
    """Refuse a verified connect while the board's clock is unset (rill.timesync.is_set): the
    bridge says why and retries; it never connects unverified instead."""
    if not t.tls.get("insecure"):
        from ..timesync import is_set

        if not is_set():
            raise OSError("the board's clock is not set: TLS waits for SNTP (rill.timesync) before it "
                          "can verify the broker")


def wrap(t):
    """Transport ``t``'s socket wrapped in TLS (the handshake runs inside the first reads
    and writes); an unverified connection is said on ``t.log`` first."""
    if t.tls.get("insecure"):
        t.log("mqtt: TLS to %s WITHOUT certificate verification (insecure=True, for tests only)" % t.server)
    return _wrap(t.sock, t.tls, t.server)


def _der(data):
    """DER certificates from PEM text (or the DER itself): some ports' mbedtls parse DER only."""
    if b"-----BEGIN" not in data:
        return [data]
    from binascii import a2b_base64

    return [a2b_base64(block.split(b"-----END")[0]) for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]]


try:
    from ssl import create_default_context  # noqa: F401  (CPython)
except ImportError:
    import ssl as _ssl

    _NEEDS_CA = True
    _VERIFY_FAILED = (-9984, -0x2700)  # MBEDTLS_ERR_X509_CERT_VERIFY_FAILED

    def _wrap(sock, tls, host):
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        if tls.get("insecure"):
            ctx.verify_mode = _ssl.CERT_NONE
        else:
            ctx.verify_mode = _ssl.CERT_REQUIRED
            data = tls.get("cadata")
            if data is None:
                with open(tls["cafile"], "rb") as f:
                    data = f.read()
            for der in _der(data):
                ctx.load_verify_locations(cadata=der)
        # with CERT_REQUIRED, mbedtls checks the certificate against server_hostname
        return ctx.wrap_socket(sock, server_hostname=tls.get("server_hostname", host),
                               do_handshake_on_connect=False)

    def _cert_reason(e):
        a = e.args[0] if e.args else None
        text = str(a).strip()  # mbedtls raises ValueError("\nThe certificate is not correctly signed ...\n")
        if a in _VERIFY_FAILED or "certificate" in text or "X509" in text:
            return "broker certificate not trusted (%s)" % text
        return None

else:
    from ..cpython_compat import tls_certificate_reason as _cert_reason  # noqa: F401
    from ..cpython_compat import wrap_tls as _wrap  # noqa: F401

    _NEEDS_CA = False
