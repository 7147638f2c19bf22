"""The outbox's spill log (rill.mqtt.spill): a full RAM outbox spills to flash, the log is
drained in key order before newer records, survives a reboot and a torn write, is bounded,
and writes flash in batches (bytes per hour measured here, in virtual time)."""
import os
import sys

from packets import publish_packets
from rill.mqtt import _prep
from rill.mqtt.outbox import Outbox
from testkit import heap_locked, scratch

T = b"o/dev/x"


def _path(name):
    """A spill path in a folder of this run's own (runtimes and runs may go side by side)."""
    return scratch("spill") + "/" + name


def _clean(path):
    folder, base = path.rsplit("/", 1)
    for name in os.listdir(folder):
        if name.startswith(base + "."):
            os.remove(folder + "/" + name)


def _segments(path):
    folder, base = path.rsplit("/", 1)
    return sorted(n for n in os.listdir(folder) if n.startswith(base + "."))


def outbox(path, capacity=4, size=64 * 1024, clean=True):
    if clean:
        _clean(path)
    ob = Outbox(capacity, capacity * 64)
    _prep("spill_log", ob, path, size)  # as Bridge(spill=size, spill_path=path) does
    return ob


def payload(i):
    return b'{"dev":"dev","boot":0,"seq":%d,"v":%d}' % (i, i)


def seq_of(p):
    return int(p.split(b'"seq":')[1].split(b",")[0])


def send_all(ob, limit=100000, counted=False):
    """Act as the broker: write every region, acknowledge every QoS 1 packet; the seqs in
    the order they were sent (``counted``: how many, checked to be 0, 1, 2... in order,
    without a list)."""
    out = InOrder() if counted else []
    for _ in range(limit):
        mv = ob.region()
        if mv is None:
            return out.n if counted else out
        data = bytes(mv)
        ob.wrote(len(mv))
        for op, _, pid, body in publish_packets(data):
            if op & 6:
                ob.ack(pid)
            out.append(seq_of(body))
    raise AssertionError("the outbox never ran dry")


def test_a_full_outbox_spills_and_drains_everything_in_key_order():
    path = _path("order")
    ob = outbox(path)
    for i in range(4):
        assert ob.put(T, payload(i), 1)
    assert isinstance(ob.spill, tuple)  # no log made (nor spill.py loaded, see the heap test) until it overflows
    for i in range(4, 200):
        assert ob.put(T, payload(i), 1)
    log = ob.spill
    assert log.n == 196 and ob.dropped == 0 and log.spilled == 196 and _segments(path)
    sent = send_all(ob)
    assert sent == list(range(200)), sent[:20]
    spilled = log.spilled
    for i in range(200, 203):  # the log is empty again: new records go straight to RAM
        assert ob.put(T, payload(i), 1)
    assert log.n == 0 and log.spilled == spilled and send_all(ob) == list(range(200, 203))
    assert _segments(path) == [] and log.used == 0 and ob.pending() == 0  # every segment released
    assert ob.produced == 203 and ob.dropped == 0


def test_new_records_queue_behind_the_log_while_it_drains():
    path = _path("behind")
    ob = outbox(path)
    for i in range(30):
        ob.put(T, payload(i), 1)
    sent = []
    n = 30
    while n < 60:
        mv = ob.region()  # a partial drain: one region, then another record arrives
        if mv is not None:
            sent += send_all_one(ob, mv)
        ob.put(T, payload(n), 1)
        n += 1
    assert ob.spill.spilled > 26  # the later records went through the log too
    sent += send_all(ob)
    assert sent == list(range(60)), sent


class InOrder:
    def __init__(self):
        self.n = 0

    def append(self, s):
        assert s == self.n, (s, self.n)
        self.n += 1


def send_all_one(ob, mv):
    """Write and acknowledge one region already taken from ``ob``."""
    data = bytes(mv)
    ob.wrote(len(mv))
    out = []
    i = 0
    while i < len(data):
        rem, i = data[i + 1], i + 2  # small packets: one length byte
        tl = data[i] << 8 | data[i + 1]
        j = i + 2 + tl
        ob.ack(data[j] << 8 | data[j + 1])
        out.append(seq_of(data[j + 2:i + rem]))
        i += rem
    return out


def test_a_full_log_refuses_and_counts_each_drop_exactly():
    path = _path("full")
    ob = outbox(path, size=2048)
    ok = sum(1 for i in range(400) if ob.put(T, payload(i), 1))
    assert ok + ob.dropped == 400 and ob.dropped == ob.spill.refused > 0
    assert ob.spill.used <= 2048
    sent = send_all(ob)
    assert sent == list(range(ok)) and len(sent) == ok  # the oldest kept, in order; the newest refused


def test_the_log_survives_a_reboot_and_goes_before_the_new_boot_s_records():
    path = _path("reboot")
    ob = outbox(path)
    for i in range(50):
        ob.put(T, payload(i), 1)
    ob.spill.flush()  # a batch still in RAM at a power cut is lost, like the RAM outbox
    del ob  # power cut: the 4 records in RAM are gone, the 46 on flash are not
    ob2 = outbox(path, clean=False)
    assert ob2.spill.n == 46 and "rill.mqtt.spill" in sys.modules
    for i in range(1000, 1010):
        ob2.put(T, payload(i), 1)
    assert send_all(ob2) == list(range(4, 50)) + list(range(1000, 1010))
    send_all(ob2)
    assert _segments(path) == []


def batches(path, counts, base=0):
    """A log of batches of ``counts`` records (seqs from ``base``, through a 4-entry outbox
    whose 4 records stay in RAM), written one by one; the segment's bytes, the batches'
    ends in it and the seqs of each batch."""
    ob = outbox(path)
    for i in range(4):
        ob.put(T, payload(base + i), 1)
    ends, seqs, i = [], [], base + 4
    for c in counts:
        seqs.append(list(range(i, i + c)))
        for _ in range(c):
            ob.put(T, payload(i), 1, i % 3 == 0)
            i += 1
        ob.spill.flush()
        ends.append(os.stat(path + ".1")[6])
    with open(path + ".1", "rb") as f:
        return f.read(), ends, seqs


def test_a_torn_last_batch_and_a_bad_checksum_lose_only_those_batches():
    path = _path("torn")
    data, ends, seqs = batches(path, (6, 6, 6, 6))
    data = bytearray(data)
    data[ends[0] + 20] ^= 0xFF  # batch 2 (seqs 10-15): a byte flipped
    with open(path + ".1", "wb") as f:
        f.write(data[:ends[3] - 10])  # the last batch torn
    ob2 = outbox(path, clean=False)
    assert ob2.spill.n == 18  # three whole batches found at boot
    sent = send_all(ob2)
    assert sent == seqs[0] + seqs[2], sent
    assert ob2.spill.corrupt == 2 and ob2.dropped == 6  # the torn one was the write a power cut cut short


def test_a_power_cut_at_every_byte_loses_only_the_batch_being_written():
    """The segment cut at every length (a write torn anywhere): the next boot sends exactly
    the whole batches before the cut, in order, and counts nothing as dropped."""
    path = _path("cut")
    data, ends, seqs = batches(path, (1, 4, 2))
    for cut in range(len(data) + 1):
        with open(path + ".1", "wb") as f:
            f.write(data[:cut])
        ob = outbox(path, capacity=4, clean=False)
        whole = [s for e, ss in zip(ends, seqs) for s in ss if e <= cut]
        log = ob.spill
        sent = send_all(ob) if not isinstance(log, tuple) else []
        assert sent == whole, (cut, sent, whole)
        torn = 0 if cut in ends or not cut else 1
        assert ob.dropped == 0 and (isinstance(log, tuple) or log.corrupt == torn), (cut, ends)
        _clean(path)


def test_a_flipped_byte_anywhere_never_sends_a_wrong_record():
    """A byte of the log flipped anywhere (flash gone bad): what is sent is exactly the
    records, each byte for byte, of the batches whose checksums hold, in order; the rest is
    counted as corrupt, never sent altered, never a crash."""
    path = _path("flip")
    data, ends, seqs = batches(path, (2, 5, 3))
    starts = [0] + ends[:-1]
    for at in range(len(data)):
        bad = bytearray(data)
        bad[at] ^= 0x41
        with open(path + ".1", "wb") as f:
            f.write(bad)
        ob = outbox(path, capacity=4, clean=False)
        hit = [k for k in range(len(ends)) if starts[k] <= at < ends[k]][0]
        sent = []
        for _ in range(1000):
            mv = ob.region()
            if mv is None:
                break
            data2 = bytes(mv)
            ob.wrote(len(mv))
            for op, topic, pid, body in publish_packets(data2):
                if op & 6:
                    ob.ack(pid)
                s = seq_of(body)
                assert topic == T and body == payload(s) and op & 1 == (s % 3 == 0), (at, topic, body)
                sent.append(s)
        before = [s for k in range(hit) for s in seqs[k]]
        after = [s for k in range(hit + 1, len(ends)) for s in seqs[k]]
        assert sent in (before + after, before), (at, sent)  # a head hit may end the segment there
        assert ob.spill.corrupt >= 1, (at, ends, sent)
        _clean(path)


def reading(i):
    """The payload a device publishes for reading ``i`` (rill.mqtt.codecs' JSON envelope of a
    float as a sensor gives it, repr digits and all)."""
    from rill.mqtt.codecs import JSON

    return JSON.wrap("dev21", 3, i, 20.0 + (i % 50) * 0.1)


R = b"o/dev21/x"


def test_flash_bytes_per_hour_at_1_hz_and_50_hz_in_virtual_time():
    """An hour of outage, readings spilled at 1 Hz and at 50 Hz into a log big enough to hold
    them: bytes and writes to flash counted by the log and checked against the files. A
    batch goes out when full (1 KB) or 10 s old, so at 1 Hz a write per 10 records, at
    50 Hz per full batch; a record is framed with its batch and shares its topic and
    envelope head with the one before, so it costs a third of its 13 + topic + payload."""
    from rill.mqtt import spill

    for hz in (1, 50):
        path = _path("wear%d" % hz)
        ob = outbox(path, size=16 * 1024 * 1024)
        log = spill.Spill(ob, path, 16 * 1024 * 1024)
        now = [0]
        log.clock = lambda now=now: now[0]
        n = hz * 3600 if hz == 1 else hz * 360  # 50 Hz: a tenth of an hour, scaled by 10 below
        for i in range(n):
            now[0] = i * 1000 // hz
            ob.put(R, reading(i), 1)
        log.flush()
        scale = 1 if hz == 1 else 10
        per_hour, writes = log.written * scale, log.writes * scale
        framed = sum(13 + len(R) + len(reading(i)) for i in range(4, n))  # one by one, as before
        print("spill wear %d Hz: %d bytes/h in %d writes, %.1f B per record (framed one by one: %.1f)" % (
            hz, per_hour, writes, log.written / log.spilled, framed / log.spilled))
        assert log.spilled == n - 4 and log.written == log.used == sum(os.stat(path + "." + s.split(".")[-1])[6]
                                                                       for s in _segments(path))
        if hz == 1:
            assert 355 <= writes <= 365, writes  # every 10 s
            assert log.written * 3 <= framed and log.written <= 24 * log.spilled, log.written
        else:
            assert writes <= per_hour // 900, writes  # batches of ~1 KB
            assert log.written * 3 <= framed and log.written <= 20 * log.spilled, log.written
        _clean(path)


def test_a_30_minute_outage_at_1_hz_with_a_64_kb_log_delivers_every_reading_in_order():
    """1800 readings (1 Hz for 30 min of virtual time: the batch clock is the test's), each
    the JSON envelope the device publishes, into the default outbox (64) and a 64 KB spill
    log: every reading delivered, in key order, none dropped, and the log not near full."""
    path = _path("long")
    ob = outbox(path, capacity=64, size=64 * 1024)
    for i in range(64):
        ob.put(R, reading(i), 1)
    ob.put(R, reading(64), 1)  # the first overflow makes the log
    log = ob.spill
    now = [0]
    log.clock = lambda now=now: now[0]
    for i in range(65, 1800):
        now[0] = i * 1000
        ob.put(R, reading(i), 1)
    peak = log.used
    sent = send_all(ob, counted=True)  # 0, 1, 2... checked one by one (no list of 1800)
    assert sent == 1800 and ob.dropped == 0, (sent, ob.dropped)
    assert log.used == 0 and _segments(path) == []
    print("64 KB log, 30 min at 1 Hz: %d readings on flash in %d bytes, %.1f B each" % (
        log.spilled, peak, peak / log.spilled))
    assert peak <= 48 * 1024, peak  # a quarter of the log to spare


def test_spilling_a_record_allocates_nothing_until_its_batch_is_written():
    """The producer's side of a full outbox under heap_lock: a record front-coded into the
    batch (a new topic, the same topic, a short and a long rest of payload up to 48 bytes)
    allocates nothing; reading it back gives the same bytes."""
    path = _path("lock")
    ob = outbox(path)
    pays = [reading(i) for i in range(4, 12)] + [b"x" * 40 + b"%d" % i for i in range(12, 14)]
    topics = [R] * 6 + [T, T, R, R]
    for i in range(5):
        ob.put(R, reading(i), 1)  # the log made, a batch started
    log = ob.spill
    for i in range(len(pays)):
        assert heap_locked(lambda t=topics[i], p=pays[i]: ob.put(t, p, 1))
    assert log.writes == 0 and log.bn == len(pays) + 1
    got = []
    for _ in range(100):
        mv = ob.region()
        if mv is None:
            break
        data = bytes(mv)
        ob.wrote(len(mv))
        for _, topic, pid, body in publish_packets(data):
            ob.ack(pid)
            got.append((topic, body))
    assert got[5:] == list(zip(topics, pays)), got[5:]


def test_close_writes_the_batch_for_the_next_boot():
    """A bridge that cannot reach its broker closes: what its spill log held in RAM (a
    batch not yet due) is on flash, and the next boot's outbox finds it."""
    import asyncio

    from rill.mqtt import Bridge
    from testkit import run, until

    path = _path("close")
    _clean(path)
    mq = Bridge("127.0.0.1", "cl", 1, outbox=4, seq=None, spill=64 * 1024, spill_path=path,
                backoff_ms=(50, 100), connect_timeout_ms=200)

    async def main():
        task = asyncio.create_task(mq.run())
        assert await until(lambda: mq.attempts >= 1)
        for i in range(20):
            mq.put(T, payload(i), 1, False)
        assert mq.outbox.spill.blen > 0 and mq.outbox.spill.writes == 0  # a batch in RAM only
        left = await mq.close(100)
        assert left == 20, left
        await task

    run(main())
    ob = outbox(path, clean=False)
    assert ob.spill.n == 16 and send_all(ob) == list(range(4, 20))


def test_boots_in_a_loop_through_an_outage_never_overrun_the_segment_table():
    """Each boot starts a segment; a device rebooting again and again while offline would
    pass the log's 16 segments: the oldest one goes instead, its records counted as drops."""
    path = _path("loop")
    _clean(path)
    dropped = 0
    for boot in range(20):
        ob = outbox(path, clean=False)
        dropped += ob.dropped
        for i in range(8):
            ob.put(T, payload(boot * 100 + i), 1)
        ob.spill.flush()
        assert len(_segments(path)) <= 16
    ob = outbox(path, clean=False)
    dropped += ob.dropped
    sent = send_all(ob)
    # boot 0 kept 4 in RAM (lost with it) and spilled 4; a later boot finds the log, so all
    # 8 of its records go behind it: 4 + 19 * 8 on flash, each delivered in order or counted
    assert sent == sorted(sent) and len(sent) + dropped == 4 + 19 * 8 and dropped > 0, (len(sent), dropped)


def test_the_default_log_is_sized_before_its_folder_exists_and_made_when_first_used():
    # the default spill_path is .rill/<device>.spill: a bridge made where .rill/ is not there
    # yet still gets its log (sized from the filesystem it will be on), and the folder appears
    # only when the outbox first spills
    base = _path("fresh")
    _rmtree(base)
    os.mkdir(base)
    ob = Outbox(2, 128)
    sys.modules.pop("rill.mqtt.spill", None)
    _prep("spill_log", ob, base + "/.rill/dev.spill", None)
    assert ob.spill and ob.spill[1] >= 8192, ob.spill  # (path, bytes): a log, not RAM only
    assert os.listdir(base) == []  # nothing made yet
    assert "rill.mqtt.spill" not in sys.modules  # nor left loaded
    for i in range(4):
        ob.put(T, b"%d" % i, 1, False)
    assert os.listdir(base) == [".rill"]
    _rmtree(base)


def _rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        try:
            os.remove(path + "/" + name)
        except OSError:
            _rmtree(path + "/" + name)
    os.rmdir(path)


def test_a_superseded_entry_at_the_tail_makes_room_in_ram_not_a_spill():
    # the spill is for records that would otherwise be lost: an outbox full only because its
    # oldest entry was superseded (never to be sent) frees that entry, as without a log
    path = _path("dead")
    ob = outbox(path, capacity=4)
    ob.put(b"o/dev/state", payload(100), 1, True, True)
    ob.put(T, payload(0), 1, False)
    ob.put(T, payload(1), 1, False)
    ob.put(b"o/dev/state", payload(101), 1, True, True)  # the first state is superseded: dead at the tail
    assert ob.put(T, payload(2), 1, False)
    assert isinstance(ob.spill, tuple) and ob.dropped == 0, ob.spill  # no log made, nothing lost
    assert send_all(ob) == [101, 0, 1, 2]  # (the new state took the old one's place)
