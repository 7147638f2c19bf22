"""The app: air temperature from an SHT3x, smoothed, published over MQTT.

    SHT3x (every every_ms) -> air -> temp (°C) -> smooth (moving average) -> MQTT topic

Settings are in config.json. On a board, main.py calls ``main()``; the tests build
``pipeline()`` on a simulated board, and ``bridge()`` against a local broker.
"""
import asyncio
import json

from rill import Pipeline, Ring
from rill.drivers.sht3x import SHT3x
from rill.filters import sliding_window_moving_average

DEFAULTS = {
    "board": None,  # default: detected from the machine
    "device": "node-1",
    "every_ms": 2000,
    "window": 5,
    "mqtt": {"host": "127.0.0.1", "port": 1883, "topic": "app/{device}/temp"},
    "wifi": None,  # {"ssid": ..., "password": ...} on a networked board
}


def load_config(path="config.json"):
    cfg = dict(DEFAULTS)
    try:
        with open(path) as f:
            cfg.update(json.load(f))
    except OSError:
        pass  # no file: the defaults
    return cfg


def _celsius(air):
    return air["temperature_c"]


def pipeline(board, cfg):
    """The pipeline on ``board`` (its sensor on the board's I2C bus), without MQTT."""
    air = SHT3x(board.i2c())
    p = Pipeline("app")
    p.record("air", SHT3x.SHAPE)
    p.record("temp", float)
    p.record("smooth", float, Ring(16))
    p.source("air", air.read, every_ms=cfg["every_ms"], name="sht3x")
    p.transform("temp", _celsius, "air", name="celsius")
    p.transform("smooth", sliding_window_moving_average(cfg["window"], 1), "temp", name="average")
    return p


def bridge(p, cfg):
    """Publish ``smooth`` to the configured topic (attach before build)."""
    from rill.mqtt import Bridge

    m = cfg["mqtt"]
    mq = Bridge(m["host"], device=cfg["device"], port=m.get("port", 1883))
    mq.publish("smooth", m["topic"], qos=1)
    mq.attach(p)
    return mq


def main(cfg=None):
    from rill import board as boards

    cfg = cfg or load_config()
    bd = boards.load(cfg["board"])
    p = pipeline(bd, cfg)
    if bd.has("network"):
        bridge(p, cfg)
        if cfg.get("wifi") and bd.sim is None:
            from rill.wifi import WiFi

            p.record("wifi", WiFi.SHAPE)
            p.source("wifi", task=bd.wifi(cfg["wifi"]["ssid"], cfg["wifi"]["password"]).run)
    g = p.build(board=bd)
    print("app: %s on %s" % (cfg["device"], bd))
    asyncio.run(g.run())
