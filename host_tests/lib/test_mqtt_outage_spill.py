"""Issue 21's outage against a real mosquitto, on a bridge's default settings (outbox 64,
spill log sized from the free flash, backoff with a young-outage probe): 50 Hz QoS 1 for
20 s, the broker stopped at 7.5 s and back at 12.5 s. Every record arrives (counted by key
on the way back through the device's own subscription), and the bridge is back online
within 1.5 s of the broker's return."""
import asyncio
import gc
import os
import time

from rill import Pipeline, Ring
from rill.mqtt import Bridge
from test_mqtt_outage import Echo
from testkit import run, scratch, until

MP_TIMEOUT_S = 60
MP_HEAPSIZE = "256K"  # the 64-bit port (pointers twice the size); why: as MP_HEAPSIZE32_WHY
MP_HEAPSIZE32 = "192K"
MP_HEAPSIZE32_WHY = ("beside the app, the test's echo subscriber keeps every key it received (1,000) and its"
                     " broker control; the app's own peak is make bench's outage_peak_heap_bytes")


def spill_path(name):
    folder = scratch("outage")
    for f in os.listdir(folder):
        os.remove(folder + "/" + f)
    return folder + "/" + name


def rig(broker, spill=None):
    p = Pipeline("outage")
    p.record("x", float, Ring(32))
    p.source("x")
    p.record("echo", dict, Ring(64))
    echo = Echo()
    p.tap("echo", echo)
    mq = Bridge(broker.host, "dev21", broker.port, seq=None, spill=spill, spill_path=spill_path("dev21.spill"))
    mq.publish("x", "o/{device}/x", qos=1)
    mq.subscribe("o/{device}/x", "echo")  # the raw envelope, seq included
    mq.attach(p)
    return p.build(), mq, echo


async def outage(broker, spill=None, hz=50, seconds=20, down=(7.5, 12.5)):
    """The scenario; returns (records, echo, bridge, ms back online after the broker's
    return, peak gc.mem_alloc or None)."""
    g, mq, echo = rig(broker, spill)
    task = asyncio.create_task(g.run())
    assert await until(lambda: mq.state == "online"), mq.error
    n = hz * seconds
    stop, start = int(down[0] * hz), int(down[1] * hz)
    back = [None, None, 0]  # the broker's return, the bridge's, peak heap

    async def watch():
        while True:
            if back[0] is not None and back[1] is None and mq.state == "online":
                back[1] = time.ticks_ms()
            if hasattr(gc, "mem_alloc"):
                back[2] = max(back[2], gc.mem_alloc())
            await asyncio.sleep_ms(5)

    w = asyncio.create_task(watch())
    t0 = time.ticks_ms()
    for i in range(n):
        if i == stop:
            broker.stop()
        elif i == start:
            broker.start()  # returns once it accepts connections
            back[0] = time.ticks_ms()
        g.push("x", i * 1.0)
        await asyncio.sleep_ms(max(0, time.ticks_diff(time.ticks_add(t0, (i + 1) * 1000 // hz), time.ticks_ms())))
    await until(lambda: echo.count == n, 15000)
    w.cancel()
    await mq.close()
    g.stop()
    task.cancel()
    ms = time.ticks_diff(back[1], back[0]) if back[1] is not None else None
    return n, echo, mq, ms, back[2] or None


def test_the_issue_outage_on_default_settings_loses_nothing_and_is_back_within_1_5_s(broker):
    async def main():
        n, echo, mq, ms, peak = await outage(broker)
        st = mq.stats()
        print("outage: %d of %d delivered, %d duplicates (same key), back online %s ms after the broker, "
              "peak heap %s, spilled %s, flash bytes %s" % (echo.count, n, echo.dups, ms, peak,
                                                           st.get("spilled"), st.get("flash_written")))
        assert echo.count == n and echo.missing(range(n)) == [], (echo.count, st)
        assert st["dropped"] == 0 and st["spilled"] > 0, st
        assert ms is not None and ms <= 1500, ms

    run(main())
