"""Safe mode: what main.py runs instead of the app after K boots in a row that did not
reach healthy (boot.py): the network, the MQTT bridge and the OTA receiver only, the
birth saying ``"safe_mode":true``, for SAFE_S seconds (/.ota/conf); then the boot
count is cleared and the board resets to try the app again.

It reads config.json as the example app does: ``device`` (else ``<board>-<unique
id>``), ``board``, ``mqtt`` (host, port, user, password, keepalive, tls), ``wifi``
and ``topic_root`` (the status topic is ``<topic_root>/<device>/status``)."""
import asyncio
import os


def device_id(cfg):
    if cfg.get("device"):
        return cfg["device"]
    name = cfg.get("board") or os.getenv("RILL_BOARD") or "rill"
    try:
        from binascii import hexlify

        import machine

        return "%s-%s" % (name, hexlify(machine.unique_id()).decode())
    except (ImportError, AttributeError):
        return name


def main(path="config.json"):
    import json

    import rill.ota as ota

    from . import BOOTS, conf, write
    from .boot import reset

    ota.safe = True
    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        cfg = {}
    from rill import Pipeline
    from rill import board as boards
    from rill.mqtt import Bridge

    m = cfg.get("mqtt") or {}
    mq = Bridge(m.get("host", "127.0.0.1"), device=device_id(cfg), port=m.get("port", 1883), user=m.get("user"),
                password=m.get("password"), keepalive=m.get("keepalive", 30), tls=m.get("tls"),
                status_topic="%s/{device}/status" % cfg.get("topic_root", "rill"))
    bd = boards.load(cfg.get("board") or os.getenv("RILL_BOARD"))
    p = Pipeline("safe_mode")
    mq.attach(p)
    if cfg.get("wifi") and bd.has("network"):
        from rill.wifi import WiFi

        p.record("wifi", WiFi.SHAPE)
        p.source("wifi", task=bd.wifi(cfg["wifi"]["ssid"], cfg["wifi"]["password"]).run)
    g = p.build(bd)
    print("ota: safe mode for %d s: only MQTT and the OTA receiver run" % conf()[3])

    async def run():
        asyncio.create_task(g.run())
        await asyncio.sleep(conf()[3])
        write(BOOTS, "0")
        print("ota: safe mode over: trying the app again")
        reset()

    asyncio.run(run())
