"""Home Assistant discovery (rill.mqtt.discovery): the device message against the keys HA
documents, its templates against what the bridge publishes and accepts, and its life on a
real broker: retained after connect, re-sent when HA comes online, removed on request."""
import asyncio
import json

from rill import Pipeline, Ring
from rill.mqtt import JSON, Bridge, _prep
from rill.mqtt.discovery import Discovery
from testkit import raises, run, until

MP_HEAPSIZE = "256K"  # the bridge, its buffers and this module, compiled from source on a 64-bit port

# The abbreviations this module uses, as Home Assistant's MQTT documentation spells them out
# (root and component keys; "dev" and "o" have their own below).
LONG = {"dev": "device", "o": "origin", "cmps": "components", "p": "platform", "uniq_id": "unique_id",
        "def_ent_id": "default_entity_id", "avty_t": "availability_topic", "avty_tpl": "availability_template",
        "pl_avail": "payload_available", "pl_not_avail": "payload_not_available", "stat_t": "state_topic",
        "val_tpl": "value_template", "cmd_t": "command_topic", "cmd_tpl": "command_template",
        "pl_on": "payload_on", "pl_off": "payload_off", "pl_prs": "payload_press",
        "unit_of_meas": "unit_of_measurement", "dev_cla": "device_class", "stat_cla": "state_class",
        "ic": "icon", "ent_cat": "entity_category", "qos": "qos", "name": "name", "min": "min", "max": "max",
        "step": "step"}
DEVICE = {"ids": "identifiers", "name": "name", "mdl": "model", "sw": "sw_version", "mf": "manufacturer"}
ORIGIN = {"name": "name", "sw": "sw_version", "url": "support_url"}


def expand(doc):
    """The message with HA's long names; an unknown key fails the test."""
    out = {}
    for k, v in doc.items():
        assert k in LONG, "not a documented key: %r" % k
        if k == "dev":
            v = {DEVICE[d]: x for d, x in v.items()}
        elif k == "o":
            v = {ORIGIN[d]: x for d, x in v.items()}
        elif k == "cmps":
            v = {cid: expand(c) for cid, c in v.items()}
        out[LONG[k]] = v
    return out


def render(template, value_json=None, value=None):
    """The two template forms the module writes: ``{{ value_json.a.b }}`` (optionally
    wrapped in ``'ON' if ... else 'OFF'``) and ``...{{ value }}...``."""
    if "{{ value }}" in template:
        return template.replace("{{ value }}", value)
    inner = template[3:-3]
    onoff = inner.startswith("'ON' if ")
    if onoff:
        inner = inner[len("'ON' if "):-len(" else 'OFF'")]
    parts = inner.split(".")
    assert parts[0] == "value_json", template
    v = value_json
    for p in parts[1:]:
        v = v[p]
    return ("ON" if v else "OFF") if onoff else v


def climate(device="gh-1", **kw):
    """The example app's shape: sensors out with the envelope, one command record in."""
    p = Pipeline("climate")
    p.record("smooth", float, Ring(8))
    p.record("env", {"t": float, "h": float})
    p.record("alarm", bool, Ring(4))
    p.record("cmd", dict, Ring(8))
    p.source("smooth")
    p.source("env")
    p.transform("alarm", lambda t: t > 25, "smooth")
    mq = Bridge(kw.pop("host", "127.0.0.1"), device, kw.pop("port", 1883), seq=None, **kw)
    mq.publish("smooth", "rill/{device}/temp")
    mq.publish("env", "rill/{device}/env")
    mq.publish("alarm", "rill/{device}/alarm", retain=True)
    mq.subscribe("rill/{device}/cmd", "cmd", max_size=128)
    return p, mq


def declare(mq, **kw):
    ha = Discovery(mq, model="RPI_PICO_W", **kw)
    ha.sensor("smooth", name="Temperature", unit="°C", device_class="temperature", state_class="measurement")
    ha.sensor("env", "h", name="Humidity", unit="%", device_class="humidity")
    ha.binary_sensor("alarm", name="Alarm", device_class="heat")
    ha.switch("cmd", "led", name="LED")
    ha.number("cmd", "threshold_c", min=15, max=35, step=0.5, unit="°C", name="Threshold")
    ha.button("cmd", "reset", name="Reset")
    return ha


def test_the_message_has_the_keys_home_assistant_requires():
    p, mq = climate()
    ha = declare(mq, build="abc123", support_url="https://example.org/rill")
    mq.attach(p)
    assert ha.topic == b"homeassistant/device/gh-1/config"
    assert ha._cmps is None  # after attach(), only the message is kept
    import sys

    assert "rill.mqtt.discovery_setup" not in sys.modules  # the setup code is unloaded after each call
    assert len(ha.payload) < 1600, len(ha.payload)  # built once, kept for re-sends
    assert b"object_id" not in ha.payload and b"obj_id" not in ha.payload  # deprecated by HA
    doc = expand(json.loads(ha.payload))
    dev = doc["device"]
    assert dev["identifiers"] == ["gh-1"] and dev["name"] == "gh-1" and dev["model"] == "RPI_PICO_W"
    assert dev["sw_version"].endswith("+abc123")  # the build identity's place
    assert doc["origin"]["name"] == "rill" and doc["origin"]["support_url"] == "https://example.org/rill"
    assert doc["origin"]["sw_version"] == dev["sw_version"].split("+")[0]
    assert doc["availability_topic"] == "devices/gh-1/status"  # the bridge's birth and last will
    assert doc["availability_template"] == "{{ value_json.status }}"
    assert doc["payload_available"] == "online" and doc["payload_not_available"] == "offline"
    cmps = doc["components"]
    assert sorted(cmps) == ["alarm", "cmd_led", "cmd_reset", "cmd_threshold_c", "env_h", "smooth"]
    for cid, c in cmps.items():
        assert c["platform"] in ("sensor", "binary_sensor", "switch", "number", "button"), c
        assert c["unique_id"] == "gh-1_" + cid
        assert c["default_entity_id"] == "%s.gh_1_%s" % (c["platform"], cid)
    t = cmps["smooth"]
    assert t["state_topic"] == "rill/gh-1/temp" and t["unit_of_measurement"] == "°C"
    assert t["device_class"] == "temperature" and t["state_class"] == "measurement"
    assert cmps["cmd_led"]["command_topic"] == "rill/gh-1/cmd"
    n = cmps["cmd_threshold_c"]
    assert (n["min"], n["max"], n["step"]) == (15, 35, 0.5)


def test_state_templates_read_what_the_bridge_publishes():
    p, mq = climate()
    ha = declare(mq)
    mq.attach(p)
    cmps = json.loads(ha.payload)["cmps"]
    wire = lambda v: json.loads(JSON.wrap("gh-1", 0, 7, v))  # noqa: E731  (the envelope, as sent)
    assert render(cmps["smooth"]["val_tpl"], wire(21.5)) == 21.5
    assert render(cmps["env_h"]["val_tpl"], wire({"t": 20.0, "h": 47.5})) == 47.5
    assert render(cmps["alarm"]["val_tpl"], wire(True)) == "ON"
    assert render(cmps["alarm"]["val_tpl"], wire(False)) == "OFF"


def test_command_payloads_are_accepted_by_the_inbound_link():
    p, mq = climate()
    ha = declare(mq)
    mq.attach(p)
    g = p.build()
    _prep("start.bind", mq.inbox, g)  # as the bridge's task does when it starts
    cmps = json.loads(ha.payload)["cmps"]
    for c, value in ((cmps["cmd_led"]["pl_on"], None), (cmps["cmd_led"]["pl_off"], None),
                     (cmps["cmd_threshold_c"]["cmd_tpl"], "26.5"), (cmps["cmd_threshold_c"]["cmd_tpl"], "20"),
                     (cmps["cmd_reset"]["pl_prs"], None)):
        payload = render(c, value=value) if value else c
        mq.inbox.deliver(cmps["cmd_led"]["cmd_t"].encode(), payload.encode(), 1)
    assert mq.inbox.received == 5 and sum(mq.inbox.rejected.values()) == 0, mq.inbox.rejected
    got = []
    assert g.records["cmd"].reader().drain(got.append, None) == 5
    assert got == [{"led": True}, {"led": False}, {"threshold_c": 26.5}, {"threshold_c": 20}, {"reset": True}]


def test_declarations_that_cannot_reach_home_assistant_fail_at_attach():
    for bad, why in ((lambda ha: ha.sensor("cmd"), "not published"),
                     (lambda ha: ha.switch("smooth", "led"), "not subscribed")):
        p, mq = climate()
        ha = Discovery(mq)
        bad(ha)
        with raises(ValueError, why):
            mq.attach(p)
        p = mq = None  # each bridge gone before the next is made: one 6 KB outbox at a time
    p, mq = climate()
    mq.subscribe("rill/{device}/set/#", "set")
    p.record("set", dict)
    Discovery(mq).switch("set", "led")
    with raises(ValueError, "without wildcards"):
        mq.attach(p)
    p = mq = None
    with raises(ValueError, "node"):
        Discovery(climate()[1], node="gh 1")
    with raises(ValueError, "field"):
        Discovery(climate()[1]).switch("cmd", "led.on")
    with raises(TypeError, "unknown option"):
        Discovery(climate()[1]).sensor("smooth", units="C")
    p, mq = climate(outbox=4, outbox_bytes=512)
    declare(mq)
    with raises(ValueError, "does not fit the outbox"):
        mq.attach(p)


def test_retained_with_the_birth_resent_when_ha_comes_online_removed_on_request(broker):
    async def main():
        p, mq = climate("ha-1", host=broker.host, port=broker.port, status_topic="t/{device}/status")
        ha = declare(mq, prefix="t/ha", delay_ms=(10, 60))
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        w = broker.watch("t/#")  # the birth and the discovery message, in order
        assert await until(lambda: len(broker.seen(w)) >= 2, every=50), broker.seen(w)
        seen = broker.seen(w)
        assert json.loads(seen[0])["status"] == "online" and seen[1].encode() == ha.payload, seen
        late = broker.watch("t/ha/device/ha-1/config")  # subscribes after it was sent: retained
        assert await until(lambda: len(broker.seen(late)) == 1, every=50), broker.seen(late)
        assert json.loads(broker.seen(late)[0])["dev"]["ids"] == ["ha-1"]

        broker.publish("t/ha/status", "online")  # Home Assistant's birth: announce again
        assert await until(lambda: broker.seen(late)[1:] == broker.seen(late)[:1], every=50), broker.seen(late)
        assert ha.sent == 2 and g.records["homeassistant"].value == b"online"
        broker.publish("t/ha/status", "offline")
        await asyncio.sleep_ms(150)
        assert ha.sent == 2

        ha.remove()  # an empty retained payload: HA removes the device
        assert await until(lambda: broker.seen(late)[-1:] == [""], every=50), broker.seen(late)
        after = broker.watch("t/ha/device/ha-1/config")
        await asyncio.sleep_ms(300)
        assert broker.seen(after) == []  # nothing retained any more
        broker.publish("t/ha/status", "online")
        await asyncio.sleep_ms(200)
        assert ha.sent == 3  # removed: not announced again until announce()
        await mq.close()
        g.stop()
        task.cancel()

    run(main())


def discovery_example(run, code):
    """docs/mqtt.md's Home Assistant example (test_examples.py runs it on every runtime)."""
    doc = json.loads(run()["ha"].payload)
    assert sorted(doc["cmps"]) == ["cmd_led", "cmd_threshold_c", "temp"], doc
    assert doc["cmps"]["temp"]["stat_t"] == "site/greenhouse-1/temp" and doc["avty_t"] == "site/greenhouse-1/status"


def test_the_build_identity_is_in_the_software_version():
    import os
    import time

    folder = "/tmp/rill-ha-%d" % time.ticks_us()
    os.mkdir(folder)
    path = folder + "/build.json"
    try:
        p, mq = climate()
        assert "+" not in json.loads(declare(mq, build_file=path).build())["dev"]["sw"]  # no build.json: none
        with open(path, "w") as f:
            f.write(json.dumps({"lib": "a" * 64, "app": "b" * 64, "config": "c" * 64, "arch": "x64"}))
        p, mq = climate()
        sw = json.loads(declare(mq, build_file=path).build())["dev"]["sw"]
        assert sw.endswith("+" + "a" * 12 + "." + "b" * 12), sw
    finally:
        try:
            os.remove(path)
        except OSError:
            pass
        os.rmdir(folder)


def test_announced_again_after_a_reconnect(broker, proxy):
    async def main():
        p, mq = climate("ha-2", host=proxy.host, port=proxy.port, keepalive=5, backoff_ms=(100, 200))
        ha = declare(mq)
        mq.attach(p)
        g = p.build()
        w = broker.watch("homeassistant/device/ha-2/config")
        task = asyncio.create_task(g.run())
        assert await until(lambda: len(broker.seen(w)) == 1, every=50), broker.seen(w)
        assert proxy.cut() == 1  # the connection dies; the bridge reconnects
        # (a first copy not yet acknowledged at the cut is retransmitted too: at least 2)
        assert await until(lambda: len(broker.seen(w)) >= 2, ms=15000, every=50), (broker.seen(w), mq.stats())
        assert mq.connects >= 2 and ha.sent == mq.connects and broker.seen(w)[-1].encode() == ha.payload
        await mq.close()
        g.stop()
        task.cancel()

    run(main())


def test_reconnects_while_the_broker_never_acks_keep_one_copy(hostile):
    """Each CONNACK queues the message again; an unacknowledged copy from the last
    connection is replaced, so the bounded outbox never holds two."""
    port = hostile.serve("noack")

    async def main():
        p, mq = climate("ha-3", host=hostile.host, port=port, ack_timeout_ms=300, backoff_ms=(50, 100))
        ha = declare(mq)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        most = 0
        for _ in range(400):
            most = max(most, mq.outbox.occupancy())
            if mq.connects >= 4:
                break
            await asyncio.sleep_ms(10)
        assert mq.connects >= 4 and "no PUBACK" in mq.error, mq.stats()
        assert ha.sent == mq.connects and most == 1 and mq.outbox.replaced >= 3, (most, mq.stats())
        assert mq.outbox.dropped == 0, mq.stats()
        await mq.close(100)
        g.stop()
        task.cancel()

    run(main())


def test_a_message_the_outbox_refuses_is_a_dead_letter():
    from rill.mqtt import DROP_NEWEST

    p, mq = climate(outbox=2, outbox_bytes=4096, policy=DROP_NEWEST)
    ha = declare(mq)
    mq.attach(p)
    said = []
    mq.inbox.log = said.append
    mq.put(b"x/1", b"1")
    mq.put(b"x/2", b"2")  # full, and the policy refuses what is new
    ha.online()
    assert mq.inbox.rejected["unsent"] == 1 and mq.outbox.dropped == 1, mq.stats()
    assert said == ["mqtt: dead letter ha_discovery: mqtt unsent: the outbox refused it (full)"], said
