"""The gateway without a broker, on both stores (SQLite, PostgreSQL): the de-duplication
survives a restart, gaps are holes inside one boot epoch (and close when a late message
fills them), envelopes decode as the device's codecs wrote them, bad input is a counted
rejection, and each device's messages run through its own copy of the app's pipeline.
What it must not lose silently (a restarted RAM-only sequence, losses at either end of a
boot, a capture's own numbers) is in test_gateway_loss.py."""
import json

from rill.mqtt.codecs import JSON, Struct
from rill_host.gateway import core, demo_app
from rill_host.gateway.store import open_store


def entry(dev, seq, boot=1, digest=0):
    return (dev, "", boot, seq, digest, "fleet/%s/reading" % dev, 0.0, None)


def count(s, table):
    return s.q("SELECT COUNT(*) FROM " + table)[0][0]


def test_dedup_state_survives_a_restart(store_url):
    s = open_store(store_url)
    assert s.commit([entry("a", 0), entry("a", 1)], lambda i: {"v": "1"}) == ([0, 1], [], [])
    s.close()
    s = open_store(store_url)
    assert s.commit([entry("a", 1), entry("a", 2), entry("a", 1, boot=2), entry("a", 2)],
                    lambda i: {"v": "1"}) == ([1, 2], [0, 3], [])
    assert count(s, "seen") == 4
    assert count(s, "results") == 4  # the duplicates wrote no result


def test_gaps_are_holes_inside_one_boot_and_close_when_filled(store_url):
    s = open_store(store_url)
    s.commit([entry("a", n) for n in (0, 1, 2, 5, 6, 9)] + [entry("a", n, boot=2) for n in (1000, 1001)]
             + [entry("b", n) for n in (7, 8)])
    assert s.scan(grace_s=0) == ([("a", "", 1, 3, 4), ("a", "", 1, 7, 8)], [])
    assert s.gaps() == [("a", "", 1, 3, 4), ("a", "", 1, 7, 8)]  # 9 -> 1000 is a reboot, not a loss
    s.commit([entry("a", 3)])
    assert s.scan(grace_s=0) == ([("a", "", 1, 4, 4)], [("a", "", 1, 3, 4)])
    assert s.scan(grace_s=0) == ([], [])


def test_a_scan_resumes_where_the_last_one_stopped(store_url):
    s = open_store(store_url)
    s.commit([entry("a", n) for n in (0, 1, 2)])
    assert s.scan(grace_s=0) == ([], [])
    assert s.q("SELECT upto FROM streams") == [(2,)]
    s.commit([entry("a", n) for n in (4, 7)])
    assert s.scan(grace_s=0) == ([("a", "", 1, 3, 3), ("a", "", 1, 5, 6)], [])
    assert s.q("SELECT upto FROM streams") == [(7,)]


def test_a_hole_is_not_a_gap_within_the_grace_period(store_url):
    s = open_store(store_url)
    s.commit([entry("a", 0), entry("a", 2)])
    assert s.scan(grace_s=60) == ([], [])
    assert s.scan(grace_s=0) == ([("a", "", 1, 1, 1)], [])


def test_envelopes_decode_as_the_device_wrote_them():
    assert core.unwrap(JSON, JSON.wrap("dev-1", 3, 42, {"t": 21.5})) == ("dev-1", 3, 42, {"t": 21.5})
    st = Struct("<ff", ("t", "h"))
    dev, boot, seq, v = core.unwrap(st, bytes(st.wrap("dev-2", 7, 2 ** 40, {"t": 1.5, "h": 40.0})))
    assert (dev, boot, seq, v) == ("dev-2", 7, 2 ** 40, {"t": 1.5, "h": 40.0})


def gateway(url, app=demo_app):
    return core.Gateway(app, db=url, instance="t")


def test_bad_input_is_a_counted_rejection_with_its_reason(tmp_path):
    gw = gateway(str(tmp_path / "gw.sqlite"))
    bad = [("fleet/a/reading", b'{"dev":"a","seq":1,"v":1}', 0.0),            # no boot
           ("fleet/a/reading", b'{"dev":"a","boot":0,"seq":-1,"v":1}', 0.0),  # bad seq
           ("fleet/a/reading", b"\xff" * 10_000_000, 0.0),
           ("fleet/a/other", JSON.wrap("a", 0, 1, 1.0), 0.0)]
    assert gw.process(bad) == []
    assert gw.counts["rejected"] == 4 and len(gw.errors) == 4
    assert "not an envelope" in gw.errors[0] and "bad boot or seq" in gw.errors[1]
    assert "no input record 'other'" in gw.errors[3]


def test_each_device_runs_its_own_pipeline_once_per_message(store_url):
    gw = gateway(store_url)
    msgs = [("fleet/%s/reading" % d, JSON.wrap(d, 0, n, {"t": t, "ts": 1.0}), 0.0)
            for n, t in enumerate((20.0, 30.0, 30.0)) for d in ("a", "b")]
    msgs.append(msgs[0])  # redelivered within the batch
    gw.commit(gw.process(msgs))
    assert gw.counts["duplicates"] == 1 and gw.counts["stored"] == 6
    gw.commit(gw.process([msgs[1]]))  # redelivered later: the store knows it, the pipeline never sees it
    assert gw.counts["duplicates"] == 2 and gw.counts["stored"] == 6
    rows = gw.store.q("SELECT dev, value FROM results WHERE key='smooth' ORDER BY dev, seq")
    smooth = {}
    for dev, value in rows:
        smooth.setdefault(dev, []).append(json.loads(value))
    assert smooth == {"a": [20.0, 25.0, 80 / 3], "b": [20.0, 25.0, 80 / 3]}  # per-device windows
    alarm = gw.store.q("SELECT seq, value FROM results WHERE key='alarm' AND dev='a' ORDER BY seq")
    assert alarm == [(0, "false"), (2, "true")]  # the firmware's Alarm: edges only
    assert gw.store.q("SELECT COUNT(*) FROM seen WHERE sent = 1.0")[0][0] == 6
    gw.commit(gw.process([("fleet/a/reading", JSON.wrap("a", 0, 3, {"t": "hot", "ts": 1.0}), 0.0)]))
    st = gw.stats()
    assert st["pipeline_dead_letters"] == 1 and st["unattributed"] == 0  # the app's transform raised: counted


def test_no_app_stores_each_value_as_it_came(tmp_path):
    gw = gateway(str(tmp_path / "gw.sqlite"), app=None)
    gw.commit(gw.process([("x/a/temp", JSON.wrap("a", 0, 0, 21.5), 0.0)]))
    assert gw.store.q("SELECT key, value FROM results") == [("temp", "21.5")]


def test_the_commands_refuse_a_missing_app_in_one_sentence(tmp_path):
    import subprocess
    import sys

    for app in ("no_such_app_module", str(tmp_path / "nope.py")):
        r = subprocess.run([sys.executable, "-m", "rill_host.cli", "gateway", "--app", app], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "rill gateway:" in r.stderr
    r = subprocess.run([sys.executable, "-m", "rill_host.cli"], capture_output=True, text=True, timeout=60)
    assert "  gateway " in r.stdout and "  fleet " in r.stdout
    for args in (["gateway", "--db", str(tmp_path / "no" / "such" / "dir.sqlite"), "--seconds", "1"],
                 ["gateway", "--port", "1", "--db", str(tmp_path / "g.sqlite"), "--seconds", "1"],
                 ["fleet", "--devices", "1", "--count", "1", "--port", "1", "--seq-dir", str(tmp_path / "seq")]):
        r = subprocess.run([sys.executable, "-m", "rill_host.cli"] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (args, r.stderr)


def test_gaps_duplicates_and_lag_are_records_an_app_can_tap(tmp_path):
    import asyncio
    import types

    seen = {"gap": [], "duplicate": [], "lag": []}

    def monitor(p):
        for key, got in seen.items():
            p.tap(key, got.append)

    app = types.SimpleNamespace(INPUTS=None, OUTPUTS=None, monitor=monitor)
    gw = gateway(str(tmp_path / "gw.sqlite"), app=app)

    async def go():
        gw.graph.start()
        msgs = [("x/a/temp", JSON.wrap("a", 1, n, 1.0), 0.0) for n in (0, 1, 4)]
        gw.commit(gw.process(msgs + msgs[:1]))
        gw.scan(grace_s=0)
        await asyncio.sleep(0.05)  # the taps run in their own tasks
        gw.graph.stop()

    asyncio.run(go())
    assert seen["gap"] == [{"dev": "a", "stream": "", "boot": 1, "lo": 2, "hi": 3}]
    assert seen["duplicate"] == [("a", "", 1, 0)]
    assert seen["lag"][0]["a"][1] == 4 and gw.stats()["lag"]["a"]["seq"] == 4
    assert gw.counts == dict(received=0, stored=3, duplicates=1, reused=0, rejected=0, gaps=1, gaps_closed=0,
                             batches=1, status=0, wills=0, app_errors=0)


def test_the_gateways_fast_strict_json_gives_rill_stricts_verdict_on_the_devices_table():
    import os
    import sys

    from rill import strict

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    try:
        from test_mqtt_json import TABLE
    finally:
        sys.path.pop(0)
    extra = [b'"\\\\ud800"', b'{"a":"\\uDBFF\\uDFFF"}', b'{"a":[' + b"{" * 15 + b"}" * 15 + b"]}", b'1e400', b"\xff",
             b' {"a":1} ', b'{"a":1}x', b'{"a":NaN}', b"[1] [2]", b'{"a":-Infinity}']
    for payload in [p for p, _ in TABLE] + extra:
        try:
            want = ("ok", strict.loads(payload))
        except ValueError:
            want = ("bad",)
        try:
            got = ("ok", core.strict_loads(payload))
        except ValueError:
            got = ("bad",)
        assert got == want, payload


def test_results_are_the_json_encoders_text():
    import enum

    class Level(enum.IntEnum):
        HIGH = 2

    class Celsius(float):
        pass

    values = [21.5, -0.0, 1e16, 1e-7, float("nan"), float("inf"), -float("inf"), 0, -7, 2 ** 70, True, False, None,
              "x\u00e9\n", [1, 2.5], {"t": 1.5, "ok": True}, Level.HIGH, Celsius(1.25)]
    assert [core.dumps(v) for v in values] == [json.dumps(v) for v in values]


def test_device_pipelines_build_with_the_same_checks_without_collecting_or_reloading(monkeypatch):
    """On a host, core.build keeps rill's checker and wiring loaded and collects no
    garbage (a board's build does both, ~16 ms a device on a host); a bad declaration is
    refused as ever."""
    import gc
    import sys

    import pytest

    from rill import GraphError, Pipeline

    core.Device(demo_app, "first").graph.stop()
    mods = {name: sys.modules.get(name) or core._builders.get(name) for name in core._BUILDERS}
    collected = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    for i in range(3):
        core.Device(demo_app, "d%d" % i).graph.stop()
    assert collected == [] and gc.collect is not core._no_collect
    assert all(core._builders[name] is mods[name] is not None for name in core._BUILDERS)
    p = Pipeline("bad")
    p.record("a", float)
    p.transform("a", lambda v: v, "missing")
    with pytest.raises(GraphError, match="missing"):
        core.build(p)


def test_lag_is_each_devices_newest_message_of_its_latest_boot(store_url):
    s = open_store(store_url)
    s.commit([entry("a", n) for n in range(5)] + [entry("a", n, boot=2) for n in (1000, 1001)] + [entry("b", 7)])
    s.bound("a", "", 3, first=2000)  # a birth: boot 3 has no message yet
    lag = s.lag()
    assert sorted((dev, seq) for dev, (age, seq) in lag.items()) == [("a", 1001), ("b", 7)]
    assert all(0 <= age < 60 for age, _ in lag.values())
