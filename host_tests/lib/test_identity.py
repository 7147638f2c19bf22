"""rill.identity: build.json read on the device (missing: "unknown", never a crash), its
short form in the bridge's birth message, and the comparison a replay warns on."""
import asyncio
import json
import os
import time

from rill import Pipeline, identity
from rill.mqtt import Bridge
from testkit import run, until

FULL = {"lib": "a" * 64, "app": "b" * 64, "config": "c" * 64, "arch": "armv6m", "firmware": "1.25.0"}


def _folder():
    folder = "/tmp/rill-id-%d" % time.ticks_us()
    os.mkdir(folder)
    return folder


def _write(folder, ident):
    with open(folder + "/build.json", "w") as f:
        f.write(json.dumps(ident))
    return folder + "/build.json"


def test_missing_or_broken_build_json_is_unknown():
    folder = _folder()
    assert identity.load(folder + "/build.json") == dict((k, "unknown") for k in identity.FIELDS)
    with open(folder + "/build.json", "w") as f:
        f.write("{not json")
    assert identity.load(folder + "/build.json")["lib"] == "unknown"
    assert not identity.known(identity.load(folder + "/build.json"))
    assert identity.birth(folder + "/build.json") == b""  # the birth stays as it was
    os.remove(folder + "/build.json")
    os.rmdir(folder)


def test_load_short_and_differs():
    folder = _folder()
    path = _write(folder, FULL)
    got = identity.load(path)
    assert got == FULL and identity.known(got)
    s = identity.short(got)
    assert s == {"lib": "a" * 12, "app": "b" * 12, "config": "c" * 12, "arch": "armv6m", "firmware": "1.25.0"}
    assert identity.differs(s, got) == []  # short against full compares the first 12
    other = dict(FULL)
    other["app"] = "d" * 64
    assert identity.differs(s, other) == ["app"]
    assert identity.differs(identity.load(folder + "/none.json"), got) == ["lib", "app", "config"]
    assert json.loads("{" + identity.birth(path).decode()[1:] + "}") == {"build": s}
    os.remove(path)
    os.rmdir(folder)


def test_birth_message_carries_the_short_identity(broker):
    folder = _folder()
    _write(folder, FULL)
    here = os.getcwd()
    os.chdir(folder)  # the board's build.json is in its current directory, as on a board

    async def main():
        w = broker.watch("devices/id1/status")
        p = Pipeline("id")
        mq = Bridge(broker.host, "id1", broker.port, seq=None)
        mq.attach(p)
        g = p.build()
        task = asyncio.create_task(g.run())
        try:
            assert await until(lambda: len(broker.seen(w)) == 1, every=50), broker.seen(w)
            await mq.close()
        finally:
            g.stop()
            await asyncio.sleep_ms(0)
        return broker.seen(w)[0], task

    try:
        birth, _ = run(main())
    finally:
        os.chdir(here)
        os.remove(folder + "/build.json")
        os.rmdir(folder)
    got = json.loads(birth)
    assert got["status"] == "online" and got["build"] == identity.short(FULL), birth


def test_replay_warns_when_the_capture_is_another_build():
    from rill.clock import VirtualClock
    from rill.io.replay import replay

    def graph():
        p = Pipeline("r")
        p.record("x", int)
        p.source("x")
        return p.build()

    capture = [{"capture": "r", "sources": {"x": "x"}, "build": identity.short(FULL)}, [0, "x", 1], {"end": 5}]
    same = run(replay(graph(), capture, VirtualClock(), identity=FULL))
    assert same.warning is None and same.pushed == 1
    other = dict(FULL)
    other["lib"] = "e" * 64
    rp = run(replay(graph(), capture, VirtualClock(), identity=other))
    assert rp.pushed == 1 and rp.warning.count("\n") == 0, rp.warning  # one line, and the replay goes on
    assert "lib=aaaaaaaaaaaa" in rp.warning and "lib=eeeeeeeeeeee" in rp.warning and "app=" not in rp.warning
    unknown = [{"capture": "r", "sources": {"x": "x"}}, [0, "x", 1], {"end": 5}]
    assert "lib=unknown" in run(replay(graph(), unknown, VirtualClock(), identity=FULL)).warning
    assert run(replay(graph(), capture, VirtualClock())).warning is None  # no identity given: no check


async def _record_one(g, rec, clock):
    g.start(clock)
    g.push("x", 1)
    rec.close()
    g.stop()


def test_capture_header_carries_the_identity():
    from rill.clock import VirtualClock
    from rill.io import frame
    from rill.io.recorder import Recorder
    from rill.io.sink import FileSink

    folder = _folder()
    _write(folder, FULL)
    here = os.getcwd()
    os.chdir(folder)
    heads = []
    try:
        for name, max_line in (("wide", 256), ("narrow", 64)):
            clock = VirtualClock()
            p = Pipeline("h")
            p.record("x", int)
            p.source("x")
            g = p.build()
            rec = Recorder(FileSink(folder + "/" + name, every=1, max_line=max_line, clock=clock)).attach(g)

            run(_record_one(g, rec, clock))
            heads.append(next(iter(frame.read(folder + "/" + name))))
            for seg in frame.paths(folder + "/" + name):
                os.remove(seg)
    finally:
        os.chdir(here)
        os.remove(folder + "/build.json")
        os.rmdir(folder)
    assert heads[0] == {"capture": "h", "sources": {"x": "push"}, "build": identity.short(FULL)}, heads
    assert heads[1] == {"capture": "h", "sources": {"x": "push"}}, heads  # too long a line for that sink: left out
