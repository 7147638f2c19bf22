"""The app: air temperature from an SHT3x, smoothed, published over MQTT.

    SHT3x (every every_ms) -> air -> temp (°C) -> smooth (moving average) -> MQTT topic
                                              (the console, on a board without networking)

Settings are in config.json. On a board, main.py calls ``main()``; the tests build
``pipeline()`` on a simulated board, and ``bridge()`` against a local broker.
``main()`` reads the config first, imports everything and collects the garbage importing
leaves, then makes the bridge: its buffers are the largest blocks, and need the heap's longest runs.
"""
import asyncio
import gc

from rill import Pipeline, Ring
from rill.drivers.sht3x import SHT3x
from rill.filters import sliding_window_moving_average


def load_config(path="config.json"):
    """The settings: board, device, every_ms, window, mqtt {host, port, topic}, wifi.
    `rill test`, `rill run` and `rill deploy` check the file strictly first (rill.config:
    one error naming its line and key); here it is read with json, which costs a board
    about 3 KB less heap at boot than the check (rill.config.load_once, if you want it there)."""
    import json

    with open(path) as f:
        return json.load(f)


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


def bridge(cfg):
    """The MQTT bridge, publishing ``smooth`` to the configured topic (``attach`` it before build)."""
    from rill.mqtt import Bridge

    m = cfg["mqtt"]
    mq = Bridge(m["host"], device=cfg["device"], port=m.get("port", 1883))
    mq.publish("smooth", m["topic"], qos=1)
    return mq


def _say_mqtt(mq):
    """A tap on the bridge's state record: the console says when the connection changes, and why."""

    def say(state):
        if state != "connecting":
            print("app: mqtt %s%s" % (state, "" if state == "online" or not mq.error else " (%s)" % mq.error))

    return say


def _say_temp(t):
    print("app: temp %.2f C" % t)


def main(cfg=None):
    cfg = cfg or load_config()  # first: what reading it leaves behind is freed before the rest loads
    from rill import board as boards

    bd = boards.load(cfg["board"])
    net = bd.has("network")
    if net:
        import rill.mqtt  # noqa: F401  (imported before the collect below)
    gc.collect()
    mq = bridge(cfg) if net else None
    p = pipeline(bd, cfg)
    if net:
        mq.attach(p)
        p.tap("mqtt", _say_mqtt(mq), name="say_mqtt")
        if cfg.get("wifi") and bd.sim is None:
            from rill.wifi import WiFi

            p.record("wifi", WiFi.SHAPE)
            w = cfg["wifi"]  # {"ssid", "password"}, or {"ap": {...}}: the first-configuration page
            p.source("wifi", task=bd.wifi(w.get("ssid"), w.get("password", ""), ap=w.get("ap")).run)
    else:  # a board without networking: the readings go to the console
        p.tap("smooth", _say_temp, name="console")
    g = p.build(board=bd)
    print("app: %s on %s" % (cfg["device"], bd))
    asyncio.run(g.run())
