"""rill.ota on the device side, in isolation: the HMAC-SHA256 written over hashlib.sha256
(the manifest's signature) against RFC 4231 and, on CPython, against hmac fed whole;
the constant-time comparison; and a bridge on a board without /.ota/key loads none of
rill.ota (an app that does not use OTA pays nothing). The updates themselves run on
the virtual board: host_tests/tools/test_ota_vboard.py."""
import sys
from binascii import hexlify

from rill.ota.sign import Hmac, equal


def mac(key, *parts):
    h = Hmac(key)
    for p in parts:
        h.update(p)
    return hexlify(h.digest()).decode()


def test_hmac_sha256_matches_rfc_4231():
    # RFC 4231 test cases 1, 2 and 6 (a key longer than the block: hashed first)
    assert mac(b"\x0b" * 20, b"Hi There") == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert mac(b"Jefe", b"what do ya want ", b"for nothing?") == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert mac(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First") == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_hmac_fed_in_pieces_equals_cpythons_hmac():
    if sys.implementation.name != "cpython":
        return  # MicroPython has no hmac module to compare with: the RFC vectors above hold there
    import hashlib
    import hmac
    import random

    rnd = random.Random(20)
    for _ in range(20):
        key = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 100)))
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 3000)))
        cuts = sorted(rnd.randrange(len(data) + 1) for _ in range(3))
        parts = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        assert mac(key, *parts) == hmac.new(key, data, hashlib.sha256).hexdigest()


def test_equal():
    assert equal(b"abc", b"abc") and not equal(b"abc", b"abd") and not equal(b"abc", b"ab")
    assert equal(b"", b"")


def test_a_bridge_without_a_key_loads_nothing_of_rill_ota():
    import os

    try:
        os.stat("/.ota/key")
        return  # a machine provisioned for OTA (not a test machine): nothing to show
    except OSError:
        pass
    for name in [m for m in sys.modules if m.startswith("rill.ota")]:
        sys.modules.pop(name)
    from rill.mqtt import Bridge

    mq = Bridge("127.0.0.1", device="no-ota", seq=None, spill=0)
    mq.publish("x", "t/{device}/x")
    assert [m for m in sys.modules if m.startswith("rill.ota")] == []
    assert mq.addons == [] and not hasattr(mq, "ota")
