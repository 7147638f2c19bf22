"""MQTT round trip: what the app publishes reaches a real broker (mosquitto, or amqtt)
on its topic, in rill's envelope. The test pushes the readings itself: no sensor, so it
runs on real time, as MQTT does."""
import asyncio
import json

from app import bridge, load_config

from rill import Pipeline, Ring
from testkit import run, until


def test_readings_reach_the_broker(broker):
    cfg = load_config()
    cfg["mqtt"] = {"host": broker.host, "port": broker.port, "topic": "test/{device}/temp"}
    watcher = broker.watch("test/#")
    mq = bridge(cfg)
    p = Pipeline("mqtt")
    p.record("smooth", float, Ring(8))
    p.source("smooth")  # pushed by the test
    mq.attach(p)
    g = p.build()

    async def main():
        task = asyncio.create_task(g.run())
        assert await until(lambda: mq.state == "online"), mq.error
        for t in (21.5, 22.0):
            g.push("smooth", t)
        arrived = await until(lambda: len(broker.seen(watcher)) >= 2)
        await mq.close()
        g.stop()
        task.cancel()
        return arrived

    assert run(main()), broker.seen(watcher)
    got = [json.loads(m) for m in broker.seen(watcher)]
    assert [(m["dev"], m["v"]) for m in got] == [(cfg["device"], 21.5), (cfg["device"], 22.0)], got
