"""The outbox's spill log (rill.mqtt.spill): a full RAM outbox spills to flash, the log is
drained in key order before newer records, survives a reboot and a torn write, is bounded,
and writes flash in batches (bytes per hour measured here, in virtual time)."""
import os
import sys

from packets import publish_packets
from rill.mqtt import _prep
from rill.mqtt.outbox import Outbox
from testkit import MICROPYTHON

T = b"o/dev/x"


def _path(name):
    """A spill path in a folder of this runtime's own (the runtimes may run side by side)."""
    folder = "/tmp/rill-spill-%s%d" % ("mp" if MICROPYTHON else "cpy", len(str(sys.maxsize)))
    try:
        os.mkdir(folder)
    except OSError:
        pass
    return folder + "/" + name


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
    ok = sum(1 for i in range(100) if ob.put(T, payload(i), 1))
    assert ok + ob.dropped == 100 and ob.dropped == ob.spill.refused > 0
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


def test_a_torn_last_record_and_a_bad_checksum_lose_only_those_records():
    path = _path("torn")
    ob = outbox(path)
    for i in range(40):
        ob.put(T, payload(i), 1)
    ob.spill.flush()
    seg = path + ".1"
    with open(seg, "rb") as f:
        data = bytearray(f.read())
    rec = len(data) // 36  # 36 records of the same size on flash
    data[rec * 5 + 20] ^= 0xFF  # record 5 on flash (seq 9): a payload byte flipped
    with open(seg, "wb") as f:
        f.write(data[:len(data) - rec // 2])  # the last record torn in half
    ob2 = outbox(path, clean=False)
    sent = send_all(ob2)
    want = [s for s in range(4, 39) if s != 9]  # 4-39 were on flash: 9 corrupt, 39 torn
    assert sent == want, sent
    assert ob2.spill.corrupt == 2 and ob2.dropped == 1  # the torn one was the write a power cut cut short


def test_flash_bytes_per_hour_at_1_hz_and_50_hz_in_virtual_time():
    """An hour of outage, records spilled at 1 Hz and at 50 Hz into a log big enough to hold
    them: bytes and writes to flash counted by the log itself. A batch goes out when full
    (1 KB) or 10 s old, so at 1 Hz a write per 10 records, at 50 Hz per full batch."""
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
            ob.put(T, payload(i), 1)
        log.flush()
        scale = 1 if hz == 1 else 10
        per_hour, writes = log.written * scale, log.writes * scale
        rec = 13 + len(T) + len(payload(123456))
        print("spill wear %d Hz: %d bytes/h in %d writes (%d B per record)" % (hz, per_hour, writes, rec))
        assert log.written == sum(13 + len(T) + len(payload(i)) for i in range(4, n))  # 4 stayed in RAM
        if hz == 1:
            assert 355 <= writes <= 365, writes  # every 10 s
        else:
            assert writes <= per_hour // 900, writes  # batches of ~1 KB
        _clean(path)


def test_a_30_minute_outage_at_1_hz_in_virtual_time():
    """1800 readings (1 Hz for 30 min of virtual time: the batch clock is the test's) into the
    default outbox (64) and a spill log. With 128 KB every reading is delivered, in key
    order. With 64 KB (the issue's figure) the log holds what fits of these 45-byte JSON
    envelopes (65 bytes each on flash): the oldest, delivered in order, and each refused
    one is counted, exactly."""
    for size in (128 * 1024, 64 * 1024):
        path = _path("long")
        ob = outbox(path, capacity=64, size=size)
        for i in range(64):
            ob.put(T, payload(i), 1)
        ob.put(T, payload(64), 1)  # the first overflow makes the log
        log = ob.spill
        now = [0]
        log.clock = lambda now=now: now[0]
        for i in range(65, 1800):
            now[0] = i * 1000
            ob.put(T, payload(i), 1)
        kept = 1800 - ob.dropped
        assert send_all(ob, counted=True) == kept  # in key order, none twice
        assert ob.dropped == log.refused and log.used == 0 and _segments(path) == []
        if size == 128 * 1024:
            assert ob.dropped == 0
        else:
            assert 64 + (64 * 1024 - 13 * 64) // 65 <= kept <= 64 + 64 * 1024 // 58, kept
            print("64 KB log: %d of 1800 readings kept at %d bytes each on flash" % (kept, 13 + len(T) + 45))


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
    _prep("spill_log", ob, base + "/.rill/dev.spill", None)
    assert ob.spill and ob.spill[1] >= 8192, ob.spill  # (path, bytes): a log, not RAM only
    assert os.listdir(base) == []  # nothing made yet
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
