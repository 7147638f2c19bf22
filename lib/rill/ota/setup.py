"""Attaches the OTA receiver (receiver.py) to a bridge: called by the bridge's setup
(rill.mqtt.prep.bridge) when /.ota/key exists, and unloaded after it. ``subscribe`` is
prep.subscribe. In safe mode (safemode.py sets ``rill.ota.safe``) the birth says so."""


def attach(bridge, subscribe):
    import rill.ota as ota

    from .receiver import CHUNK, Receiver

    safe = getattr(ota, "safe", False)
    base = bridge.status_topic.decode().rpartition("/")[0] + "/"
    r = Receiver(bridge, base, safe)
    subscribe(bridge, base + "ota/in", r.key, codec=r, max_size=CHUNK + 16)  # the receiver decodes: see there
    bridge.addons.append(r)
    bridge.ota = r
    if safe:
        from ..mqtt import _prep

        bridge.birth = _prep("start.identity") + b',"safe_mode":true'
    return r
