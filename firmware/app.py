"""The example pipeline: a climate node that samples, smooths, alarms and talks MQTT.

    BME280 --(every interval_ms)--> env -> temp -> smooth (moving average) -> alarm
    chip temperature (every 5 s) -> chip
    smooth, alarm, chip --> MQTT  <topic_root>/<device>/{temp,alarm,chip}, JSON with
                                  the envelope {"dev": ..., "seq": ..., "v": ...}
    MQTT <topic_root>/<device>/cmd --> cmd: {"interval_ms": 500} | {"led": true}
                                           | {"threshold_c": 26.5}
    Home Assistant discovery (homeassistant/device/<device>/config, retained): the
    temperatures and the alarm as sensors, the LED as a switch, the threshold and the
    interval as numbers, all sending to the cmd topic above

Settings come from config.json on the board (see ``DEFAULTS``; `rill run`
writes one for the virtual board). On simulated hardware (the virtual board, the host)
a slow "weather" task swings the simulated BME280 around the threshold, so the alarm
has something to do; on a real board the sensor reads the real room.
"""
import asyncio
import gc

DEFAULTS = {
    "device": None,  # default: "<board id>-<unique id>", or the board id
    "board": None,  # default: $RILL_BOARD (virtual board), else detected from the machine
    "mqtt": {"host": "127.0.0.1", "port": 1883, "keepalive": 30},  # also: user, password, tls (see rill.mqtt.tls)
    "wifi": None,  # {"ssid": ..., "password": ...} on a networked board; {"ap": {...}}: rill.portal's page
    "topic_root": "rill",
    "interval_ms": 1000,
    "smooth_n": 5,
    "threshold_c": 25.0,
    "hysteresis_c": 0.3,
    "console": True,  # print each smoothed value (see it with rill monitor)
    "homeassistant": "homeassistant",  # the discovery prefix; null: not announced to Home Assistant
}
INTERVAL_MS = (100, 60000)  # what a command may set


def load_config(path="config.json"):
    """DEFAULTS updated from ``path`` (none: the defaults). rill run and rill deploy check the
    file strictly first (rill.config); here it is read with json, about 3 KB less heap at boot."""
    import json

    cfg = dict(DEFAULTS)
    try:
        with open(path) as f:
            cfg.update(json.load(f))
    except OSError:
        pass  # no file: the defaults
    return cfg


def board_id(cfg):
    if cfg.get("board"):
        return cfg["board"]
    try:
        import os

        return os.getenv("RILL_BOARD")  # set by the virtual board; absent on real ports
    except (ImportError, AttributeError):
        return None


def device_id(cfg, board):
    if cfg.get("device"):
        return cfg["device"]
    name = board or "rill"
    try:
        import machine
        from binascii import hexlify

        return "%s-%s" % (name, hexlify(machine.unique_id()).decode())
    except (ImportError, AttributeError):
        return name


class Alarm:
    """True above ``threshold``, False below ``threshold - hysteresis``; only changes
    are emitted (None otherwise), so the alarm topic carries edges, not samples."""

    def __init__(self, threshold, hysteresis):
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.on = None

    def __call__(self, t):
        on = self.on
        if t > self.threshold:
            on = True
        elif t < self.threshold - self.hysteresis or on is None:
            on = False
        if on == self.on:
            return None
        self.on = on
        return on


class Node:
    """The sensor, the alarm, the LED and what commands can change at run time."""

    def __init__(self, cfg, bd):
        from rill.board import BoardError
        from rill.drivers.bme280 import BME280

        self.cfg = cfg
        self.bd = bd
        self.interval_ms = cfg["interval_ms"]
        self.env = BME280(bd.i2c())
        self.alarm = Alarm(cfg["threshold_c"], cfg["hysteresis_c"])
        self.led = None
        try:
            self.led = bd.led()
        except BoardError:
            pass  # e.g. an addressable LED: not driven by this example
        self.commands = 0

    async def sample(self, emit):
        """Task source: the interval is read every turn, so a command changes it at once."""
        env = self.env
        while True:
            try:
                v = env.read()
            except OSError:
                v = None  # counted in env.failures; the next turn tries again
            if v is not None:
                emit(v)
            await asyncio.sleep_ms(self.interval_ms)

    def command(self, cmd):
        """Apply a command record; unknown keys are ignored, bad values raise (dead letter)."""
        self.commands += 1
        if "interval_ms" in cmd:
            ms = cmd["interval_ms"]
            if type(ms) is not int:  # true is not 1 here, on either runtime
                raise ValueError("interval_ms must be an integer")
            if not INTERVAL_MS[0] <= ms <= INTERVAL_MS[1]:
                raise ValueError("interval_ms %d outside %d..%d" % (ms, INTERVAL_MS[0], INTERVAL_MS[1]))
            self.interval_ms = ms
        if "threshold_c" in cmd:
            self.alarm.threshold = float(cmd["threshold_c"])
        if "led" in cmd and self.led is not None:
            self.led.value(1 if cmd["led"] else 0)
        led = "" if self.led is None else ", led %s" % ("on" if self.led.value() else "off")
        print("app: command %s -> interval %d ms, threshold %.1f C%s"
              % (cmd, self.interval_ms, self.alarm.threshold, led))

    def show(self, t):
        print("app: temp %.2f C%s" % (t, " ALARM" if self.alarm.on else ""))


def _said(s):
    print("app: wifi %s %s" % (s["state"], s["reason"] or s["ip"]))


def _celsius(env):
    return env["temperature_c"]


def _rounded(fn, digits=2):
    """``fn`` with its result rounded (None passes through): short payloads."""

    def rounded(*args):
        v = fn(*args)
        return None if v is None else round(v, digits)

    return rounded


def bridge(cfg, device, **kw):
    """The MQTT bridge and its topics (attach it to the pipeline before build). Sequence
    numbers and the boot counter persist in ``<device>.seq.0/.1`` on the board's
    filesystem (the Bridge's default), so a reboot never reuses a number; ``kw`` goes to
    the Bridge (``seq=None`` keeps them in RAM: the host, which only builds the graph)."""
    from rill.mqtt import Bridge

    m = cfg["mqtt"]
    root = "%s/{device}/" % cfg["topic_root"]
    mq = Bridge(m["host"], device=device, port=m.get("port", 1883), user=m.get("user"),
                password=m.get("password"), keepalive=m.get("keepalive", 30), tls=m.get("tls"),
                status_topic=root + "status", **kw)
    mq.publish("smooth", root + "temp", qos=1)
    mq.publish("alarm", root + "alarm", qos=1, retain=True)
    mq.publish("chip", root + "chip", qos=0)
    mq.subscribe(root + "cmd", "cmd", max_size=128)
    if cfg.get("homeassistant"):
        homeassistant(mq, cfg["homeassistant"], board_id(cfg))
    return mq


def homeassistant(mq, prefix, board):
    """Home Assistant discovery: what the records are, for HA (the topics come from the
    bridge's links). Costs the module and the message, about 1.9 KB, kept to re-send."""
    from rill.mqtt.discovery import Discovery

    ha = Discovery(mq, model=board, prefix=prefix)
    ha.sensor("smooth", name="Temperature", unit="°C", device_class="temperature", state_class="measurement")
    ha.sensor("chip", name="Chip temperature", unit="°C", device_class="temperature", state_class="measurement",
              category="diagnostic")
    ha.binary_sensor("alarm", name="Alarm", device_class="heat")
    ha.switch("cmd", "led", name="LED")
    ha.number("cmd", "threshold_c", min=10, max=40, step=0.5, unit="°C", name="Alarm threshold")
    ha.number("cmd", "interval_ms", min=INTERVAL_MS[0], max=INTERVAL_MS[1], step=100, unit="ms",
              name="Sample interval", category="config")
    return ha


def pipeline(board, cfg, mq=None):
    """The whole graph on ``board``: the Node's records and nodes, the MQTT bridge ``mq``
    attached (made here, its sequence numbers in RAM, when not given) and the Wi-Fi
    source when ``cfg`` names a network. ``rill build --app``/``rill deploy`` build it on
    the host and generate its dispatch module (rill_dispatch_climate) from it; DEFAULTS
    fill in what ``cfg`` lacks."""
    from rill import Pipeline, Ring
    from rill.filters import sliding_window_moving_average

    cfg = dict(DEFAULTS, **cfg)
    mq = mq or bridge(cfg, device_id(cfg, board_id(cfg)), seq=None)
    node = Node(cfg, board)
    p = Pipeline("climate")
    p.record("env", node.env.SHAPE)
    p.record("temp", float)
    p.record("smooth", float, Ring(8))
    p.record("alarm", bool, Ring(4))
    p.record("chip", float)
    p.record("cmd", dict, Ring(4))
    p.source("env", task=node.sample, name="bme280")
    p.transform("temp", _celsius, "env")
    p.transform("smooth", _rounded(sliding_window_moving_average(cfg["smooth_n"], 1)), "temp", name="average")
    p.transform("alarm", node.alarm, "smooth", name="alarm")
    p.source("chip", _rounded(board.mcu_temp().read, 1), every_ms=5000, name="chip_temp")
    p.tap("cmd", node.command, name="command")
    if cfg.get("console"):
        p.tap("smooth", node.show, name="console")
    mq.attach(p)
    if cfg.get("wifi") and board.has("network"):
        from rill.wifi import WiFi

        w = cfg["wifi"]
        p.record("wifi", WiFi.SHAPE)
        p.source("wifi", task=board.wifi(w.get("ssid"), w.get("password", ""), ap=w.get("ap")).run)
        p.tap("wifi", _said, name="wifi_console")
    return p


async def weather(sim, base=24.0, swing=2.0, period_s=40):
    """Simulated hardware only: drift the BME280's temperature through the threshold."""
    import math
    import random

    t = 0
    while True:
        temp = base + swing * math.sin(2 * math.pi * t / period_s) + random.uniform(-0.2, 0.2)
        sim.bme280.set(temperature=temp, humidity=45 + 5 * math.cos(2 * math.pi * t / period_s))
        t += 1
        await asyncio.sleep_ms(1000)


async def run(cfg=None):
    # The config is read first (main() does it before anything else is loaded: what
    # reading it leaves behind is freed before the rest loads). The bridge comes next,
    # with its import: its buffers are the biggest blocks this program allocates, and an
    # MCU heap is least fragmented now. Everything else is imported after it (see the
    # imports inside the functions).
    cfg = cfg or load_config()
    device = device_id(cfg, board_id(cfg))
    gc.collect()
    mq = bridge(cfg, device)
    from rill import board as boards

    bd = boards.load(board_id(cfg))
    graph = pipeline(bd, cfg, mq).build(bd)
    tasks = []
    if bd.sim is not None:
        tasks.append(asyncio.create_task(weather(bd.sim, base=cfg["threshold_c"] - 1)))
    print("app: %s on %s (%s hardware): MQTT %s:%s, topics %s/%s/#" % (
        device, bd.name, "simulated" if bd.sim else "real", cfg["mqtt"]["host"], cfg["mqtt"].get("port", 1883),
        cfg["topic_root"], device))
    try:
        await graph.run()
    finally:
        for t in tasks:
            t.cancel()


def main():
    cfg = load_config()
    try:
        asyncio.run(run(cfg))
    finally:
        asyncio.new_event_loop()  # a clean loop for whatever runs next at the REPL
