"""The MQTT soak (tools/rill_host/bench/soak.py): a Bridge publishing one QoS 1 record every
50 ms to a real broker for SOAK_SECONDS; the host restarts the broker in the middle.

    SOAK_PORT=1883 SOAK_SECONDS=20 micropython -X heapsize=80K -c "import soak"

Prints one line at the end, read by the host:

    soak mem=0 connects=2 acked=380 state=online free=12345

``mem``: MemoryErrors the bridge counted plus dead letters for one, counted as they are
added (``DeadLetters.add`` wrapped, as heap32_mp.py does): the report loads nothing (reading
them with ``entries()`` loaded rill.describe at the end, and the soak's figure was that
import's). A raised or printed MemoryError shows in the output, which the host reads too.
"""
import asyncio
import gc
import os
import sys

from rill import Pipeline, Ring, buffers
from rill.mqtt import Bridge

_seen = [0]  # dead letters whose reason is a MemoryError
_add = buffers.DeadLetters.add


def _dead(self, key, value, reason):
    if isinstance(reason, MemoryError) or reason == "MemoryError":
        _seen[0] += 1
    return _add(self, key, value, reason)


buffers.DeadLetters.add = _dead

SECONDS = int(os.getenv("SOAK_SECONDS") or "20")

p = Pipeline("soak")
p.record("v", float, Ring(8))


async def produce(emit):
    i = 0
    while True:
        emit(i * 0.5)
        i += 1
        await asyncio.sleep_ms(50)


p.source("v", task=produce)
mq = Bridge("127.0.0.1", device="soak-%s" % os.getenv("SOAK_TAG", "0"), port=int(os.getenv("SOAK_PORT")), seq=None,
            keepalive=10, backoff_ms=(100, 1000))
mq.publish("v", "soak/{device}/v", qos=1)
mq.attach(p)
g = p.build()


async def main():
    asyncio.create_task(g.run())
    await asyncio.sleep(SECONDS)
    gc.collect()
    print("soak mem=%d connects=%d acked=%d state=%s free=%d"
          % (mq.memory_errors + _seen[0], mq.connects, mq.outbox.acked, mq.state, gc.mem_free()))
    sys.exit(0)


asyncio.run(main())
