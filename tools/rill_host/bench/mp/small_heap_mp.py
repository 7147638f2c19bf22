"""Import the core and run a 3-stage pipeline; prints "ok". Run under -X heapsize=32K."""
import asyncio

from rill import Pipeline, Ring

seen = []
p = Pipeline("small")
p.record("raw", int)
p.record("scaled", int)
p.record("alarm", int, Ring(4))
p.source("raw")
p.transform("scaled", lambda v: v * 3, "raw")
p.transform("alarm", lambda v: v if v > 20 else None, "scaled")
p.tap("alarm", seen.append)
g = p.build()


async def main():
    g.start()
    for i in range(12):
        g.push("raw", i)
        await asyncio.sleep_ms(0)
    g.stop()


asyncio.run(main())
assert seen == [21, 24, 27, 30, 33], seen
print("ok")
