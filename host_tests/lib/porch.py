"""The pipeline and bridge the capture tests run: on both runtimes here, and on a
virtual board (host_tests/tools/test_capture_vboard.py sends this file's text)."""
from rill import Pipeline, Ring
from rill.jsontext import dumps


def porch(read, jitter, out):
    """A sensor that reads ``read`` every 20 ms, a task source ``jitter`` and two integer
    transforms; each tap appends ``[key, value]`` as JSON to ``out``."""
    p = Pipeline("porch")
    p.record("temp", int)
    p.record("count", int, Ring(16))
    p.record("smooth", int, Ring(16))
    p.record("sum", int, Ring(16))
    p.source("temp", read, every_ms=20, missing=-1, name="sensor")
    p.source("count", task=jitter, name="jitter")
    p.transform("smooth", lambda v: v * 3 // 2, "temp")
    p.transform("sum", lambda s, c: s + c, "smooth", watch="count")
    for key in ("count", "smooth", "sum"):
        p.tap(key, lambda v, k=key: out.append(dumps([k, v])))
    return p


def bridge(port, host="127.0.0.1", **kw):
    """Device porch-1's bridge, publishing smooth and sum (``attach`` it before build)."""
    from rill.mqtt import Bridge

    mq = Bridge(host, "porch-1", port, keepalive=10, **kw)
    mq.publish("smooth", "porch/{device}/smooth")
    mq.publish("sum", "porch/{device}/sum")
    return mq
