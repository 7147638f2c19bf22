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
