"""Every message the gateway receives is stored, counted as a duplicate of a stored one, or
stored with a reported gap (issue 18, "Why" 5), on both stores. Each case feeds the real
Gateway.process/commit/scan the envelopes the device's own codec writes, and prints its
stored / duplicate / reused / gap counts for the issue's closing note:

- a device with ``seq=None`` (RAM only: boot 0, numbering from 0 at every boot) restarts:
  its new readings reuse the numbers of the old ones; they are stored (flagged "reused"),
  never dropped as duplicates, and the old values stay too;
- messages lost at the start of a boot: boot 0 begins at 0, a later boot where its birth
  says (``"first"``);
- messages lost at the end of a boot: where its goodbye says it ended (``"next"``);
- an MqttSink capture on ``rill/<dev>/capture`` numbers its messages from 0 in a sequence
  of its own: a gateway on ``rill/+/+`` keeps them in stream "capture", beside the app's.
"""
import json

from rill.mqtt.codecs import JSON
from rill_host.gateway import core


def gw(url):
    return core.Gateway(None, db=url, instance="t")


def feed(g, msgs):
    g.commit(g.process([(t, p, 0.0) for t, p in msgs]))
    g.scan(grace_s=0)
    c = g.counts
    return c["stored"], c["duplicates"], c["reused"], g.store.gaps()


def test_a_restarted_ram_only_sequence_is_stored_and_flagged_never_a_duplicate(store_url):
    g = gw(store_url)
    before = [("site/gh/temp", JSON.wrap("gh", 0, n, 20.0 + n)) for n in range(3)]
    after = [("site/gh/temp", JSON.wrap("gh", 0, n, 30.0 + n)) for n in range(3)]  # restarted: 0, 1, 2 again
    stored, dups, reused, gaps = feed(g, before + before[:1])  # and one true redelivery
    assert (stored, dups, reused) == (3, 1, 0)
    stored, dups, reused, gaps = feed(g, after + after[1:2])
    assert (stored, dups, reused, gaps) == (6, 2, 3, [])  # the redelivery of a reused one: a duplicate
    values = sorted(json.loads(v) for (v,) in g.store.q("SELECT value FROM results"))
    assert values == [20.0, 21.0, 22.0, 30.0, 31.0, 32.0]
    assert g.store.q("SELECT COUNT(*) FROM seen WHERE flag = 'reused'")[0][0] == 3
    print("restart with seq=None: %d stored, %d duplicates, %d reused (flagged), %d gaps"
          % (stored, dups, reused, len(gaps)))


def test_losses_at_the_start_of_a_boot_are_gaps(store_url):
    g = gw(store_url)
    msgs = [("fleet/d/reading", JSON.wrap("d", 0, n, 1.0)) for n in range(2, 150)]  # 0 and 1 lost
    msgs += [("devices/e/status", b'{"status":"online","boot":3,"first":3000}')]
    msgs += [("fleet/e/reading", JSON.wrap("e", 3, n, 1.0)) for n in range(3002, 3010)]
    stored, dups, reused, gaps = feed(g, msgs)
    assert (stored, dups, reused) == (156, 0, 0)
    assert gaps == [("d", "", 0, 0, 1), ("e", "", 3, 3000, 3001)]
    print("start of boot: %d stored, %d duplicates, %d gaps %s" % (stored, dups, len(gaps), gaps))


def test_losses_at_the_end_of_a_boot_are_gaps(store_url):
    g = gw(store_url)
    msgs = [("fleet/d/reading", JSON.wrap("d", 0, n, 1.0)) for n in range(148)]  # 148 and 149 lost
    msgs += [("devices/d/status", b'{"status":"offline","boot":0,"next":150}')]
    stored, dups, reused, gaps = feed(g, msgs)
    assert (stored, dups, reused, gaps) == (148, 0, 0, [("d", "", 0, 148, 149)])
    assert g.counts["status"] == 1
    print("end of boot: %d stored, %d duplicates, %d gaps %s" % (stored, dups, len(gaps), gaps))


def test_a_capture_keeps_its_own_numbers_beside_the_apps(store_url):
    g = gw(store_url)
    app = [("rill/p/temp", JSON.wrap("p", 0, n, 21.0)) for n in range(72)]
    capture = [("rill/p/capture", JSON.wrap("p", 0, n, {"t": n, "k": "temp", "v": 21.0})) for n in range(72)]
    stored, dups, reused, gaps = feed(g, [m for pair in zip(app, capture) for m in pair])
    assert (stored, dups, reused, gaps) == (144, 0, 0, [])
    assert g.store.q("SELECT stream, COUNT(*) FROM seen GROUP BY stream ORDER BY stream") == [("", 72), ("capture", 72)]
    print("capture beside the app: %d stored, %d duplicates, %d reused, %d gaps" % (stored, dups, reused, len(gaps)))


def test_a_bad_status_message_is_a_counted_rejection(tmp_path):
    g = gw(str(tmp_path / "gw.sqlite"))
    g.process([("devices/d/status", b'{"status":"online","boot":-1,"first":0}', 0.0),
               ("devices/d/status", b"not json", 0.0)])
    assert g.counts["rejected"] == 2 and "status: bad boot" in g.errors[0]


def test_rill_run_counts_a_capture_apart_from_the_apps_numbers():
    import types

    from rill_host.vboard.run import Tally

    t = Tally()
    for n in range(72):
        for topic, v in (("rill/p/temp", 21.0), ("rill/p/capture", {"k": "temp"})):
            t.add(types.SimpleNamespace(topic=topic, payload=JSON.wrap("p", 0, n, v), retain=False))
    said = t.summary(1.0)
    assert "; seq 0..71, 0 gaps, 0 duplicates" in said and "; capture seq 0..71, 0 gaps, 0 duplicates" in said
