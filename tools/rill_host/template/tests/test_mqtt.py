"""MQTT round trip: the app's readings reach a real broker (mosquitto, or amqtt).

MQTT runs on real time, so this test loads its board on real time too (the ``board``
fixture keeps the virtual ``clock``)."""
import asyncio
import json

from app import bridge, load_config, pipeline

from rill import board as boards
from testkit import run, until


def test_readings_reach_the_broker(broker):
    cfg = load_config()
    bd = boards.load(cfg["board"], sim=True)
    if not bd.has("network"):
        return  # this board cannot talk MQTT
    cfg["every_ms"] = 100
    cfg["mqtt"] = {"host": broker.host, "port": broker.port, "topic": "test/{device}/temp"}
    watcher = broker.watch("test/#")
    p = pipeline(bd, cfg)
    mq = bridge(p, cfg)
    g = p.build(board=bd)

    async def main():
        task = asyncio.create_task(g.run())
        arrived = await until(lambda: len(broker.seen(watcher)) >= 2)
        await mq.close()
        g.stop()
        task.cancel()
        return arrived

    assert run(main()), mq.error
    assert json.loads(broker.seen(watcher)[0])["dev"] == cfg["device"]
