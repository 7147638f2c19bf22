"""rill.mqtt pieces without a broker: outbox accounting, packet ids and DUP, topic
matching and templates, codecs and the envelope, backoff, sequence numbers."""
from packets import publish_packets
from rill.backoff import Backoff
from rill.mqtt import JSON, Struct
from rill.mqtt.bridge import Outbound
from rill.mqtt.inbound import Inbound, route
from rill.mqtt.outbox import DROP_NEWEST, Outbox
from rill.mqtt.packet import ProtocolError, header, publish_size, put_publish
from rill.mqtt.seq import Sequence, SequenceError
from rill.mqtt.start import connect, subscribe
from testkit import MICROPYTHON, heap_locked, raises, scratch

T = b"t/x"


def drain(ob):
    """Everything the outbox would write now, as bytes (all writes complete)."""
    out = bytearray()
    while True:
        mv = ob.region()
        if mv is None:
            return bytes(out)
        out += mv
        ob.wrote(len(mv))


def test_outbox_sends_whole_packets_in_order_with_packet_ids():
    ob = Outbox(8, 512, window=4)
    for i in range(6):
        assert ob.put(T, b"%d" % i, qos=1 if i % 2 else 0)
    pk = publish_packets(drain(ob))
    assert [p[3] for p in pk] == [b"0", b"1", b"2", b"3", b"4", b"5"]
    assert [p[0] for p in pk] == [0x30, 0x32, 0x30, 0x32, 0x30, 0x32]
    assert [p[2] for p in pk if p[2]] == [1, 2, 3]
    assert ob.inflight == 3 and ob.occupancy() == 5  # QoS 0 #0 freed; #2, #4 wait behind acks
    assert ob.ack(1) and ob.ack(2) and ob.ack(3) and not ob.ack(3)
    assert ob.occupancy() == 0 and ob.acked == 3


def test_outbox_window_limits_packets_in_flight():
    ob = Outbox(16, 1024, window=3)
    for _ in range(5):
        ob.put(T, b"x", qos=1)
    assert len(publish_packets(drain(ob))) == 3
    ob.ack(1)
    assert [p[2] for p in publish_packets(drain(ob))] == [4]


def test_ack_that_overtakes_a_partial_write_is_not_lost():
    ob = Outbox(8, 512, window=8)
    ob.put(T, b"a", qos=1)
    ob.put(T, b"b", qos=1)
    mv = ob.region()
    ob.wrote(len(mv) - 1)  # the socket took all but the last byte
    assert ob.ack(1)  # the broker already has the first packet
    ob.wrote(1)
    assert ob.ack(2) and ob.occupancy() == 0 and ob.inflight == 0


def test_rewind_resends_unacknowledged_with_dup():
    ob = Outbox(8, 512, window=8)
    for i in range(3):
        ob.put(T, b"%d" % i, qos=1)
    drain(ob)
    ob.ack(1)
    ob.rewind()  # connection lost with 2 and 3 in flight
    pk = publish_packets(drain(ob))
    assert [(p[0], p[3]) for p in pk] == [(0x3A, b"1"), (0x3A, b"2")]  # DUP | QoS 1
    assert [p[2] for p in pk] == [4, 5] and ob.inflight == 2


def test_drop_oldest_counts_every_loss_and_keeps_the_newest():
    ob = Outbox(4, 1024)
    for i in range(10):
        ob.put(T, b"%d" % i, qos=1)
    assert ob.dropped == 6 and ob.produced == 10 and ob.dropped_sent == 0
    assert [p[3] for p in publish_packets(drain(ob))] == [b"6", b"7", b"8", b"9"]
    ob.put(T, b"10", qos=1)  # the oldest is in flight: evicted, and counted as possibly sent
    assert ob.dropped == 7 and ob.dropped_sent == 1 and ob.inflight == 3


def test_byte_limit_wraps_the_arena_and_evicts():
    ob = Outbox(100, 64)  # each entry is 2 + 2 + 3 + 10 = 17 bytes: 3 fit
    for i in range(7):
        ob.put(T, b"%010d" % i)
    assert ob.occupancy() == 3 and ob.dropped == 4
    assert [int(p[3]) for p in publish_packets(drain(ob))] == [4, 5, 6]
    assert not ob.put(T, b"y" * 100) and ob.dropped == 5  # bigger than the arena: refused


def test_drop_newest_refuses_instead():
    ob = Outbox(2, 256, policy=DROP_NEWEST)
    assert ob.put(T, b"a") and ob.put(T, b"b") and not ob.put(T, b"c")
    assert [p[3] for p in publish_packets(drain(ob))] == [b"a", b"b"] and ob.dropped == 1


def test_mid_write_entry_is_never_overwritten():
    ob = Outbox(2, 256)
    ob.put(T, b"a", qos=1)
    ob.put(T, b"b", qos=1)
    mv = ob.region()
    ob.wrote(3)  # both entries are being written
    assert not ob.put(T, b"c") and ob.dropped == 1
    ob.wrote(len(mv) - 3)
    assert ob.put(T, b"c") and ob.dropped_sent == 1  # now the oldest may go


def test_outbox_put_and_acks_do_not_allocate():
    ob = Outbox(8, 512, window=8)
    ob.put(T, b"warm", qos=1)
    heap_locked(lambda: ob.put(T, b"payload", qos=1))
    mv = ob.region()
    heap_locked(lambda: ob.wrote(len(mv)))
    heap_locked(lambda: ob.ack(1))
    assert ob.occupancy() == 1


def test_topic_filters():
    def m(f, topic):
        link = Inbound(f.decode(), "x")
        link.bind("d")
        return route([link], topic) is link

    assert m(b"a/+/c", b"a/b/c") and not m(b"a/+/c", b"a/b/c/d") and not m(b"a/+/c", b"a/c")
    assert m(b"a/#", b"a") and m(b"a/#", b"a/b/c") and not m(b"a/#", b"b/a")
    assert m(b"#", b"x/y") and not m(b"#", b"$SYS/x") and not m(b"+/x", b"$SYS/x") and m(b"$SYS/x", b"$SYS/x")
    link = Inbound("site/{device}/+/cmd", "cmd")
    link.bind("d7")
    other = Inbound("site/#", "all")
    other.bind("d7")
    assert link.filter == b"site/d7/+/cmd" and route([link, other], b"site/d7/led/cmd") is link
    assert route([link, other], b"site/d8/led/cmd") is other and route([link], b"site/d8/led/cmd") is None


def test_a_retained_state_message_waiting_is_replaced_not_repeated():
    """put(replace=True), the bridge's put() for Home Assistant discovery: N reconnects
    while the broker never acknowledges leave one copy, not N."""
    cfg = b"ha/dev/config"
    ob = Outbox(8, 512, window=8)
    ob.put(T, b"r1", qos=1, retain=True)  # a record's values are a stream: never replaced
    assert ob.put(cfg, b"AAAA", 1, True, True)
    drain(ob)  # both in flight, never acknowledged
    for _ in range(5):  # the connection dies; after each CONNACK the message is queued again
        ob.rewind()
        assert ob.put(cfg, b"BBBB", 1, True, True)
        assert ob.put(T, b"r1", qos=1, retain=True) and ob.occupancy() == 3  # a stream is not
        ob.count -= 1  # (forget that record again: only the copies are counted here)
    assert ob.occupancy() == 2 and ob.replaced == 5 and ob.dropped == 0 and ob.pending() == 2
    pk = publish_packets(drain(ob))
    assert [(p[0], p[1], p[3]) for p in pk] == [(0x3B, T, b"r1"), (0x33, cfg, b"BBBB")]  # the new one: no DUP
    ob.rewind()
    assert ob.put(cfg, b"", 1, True, True)  # another size (a removal): the old copy is skipped
    assert ob.pending() == 2 and ob.replaced == 6
    assert [p[3] for p in publish_packets(drain(ob))] == [b"r1", b""]
    assert ob.ack(ob.next_pid - 1) and ob.ack(ob.next_pid - 2) and ob.occupancy() == 0
    assert ob.put(cfg, b"C", 1, True, True) and len(drain(ob))
    assert ob.put(cfg, b"D", 1, True, True) and ob.occupancy() == 2  # in flight: not recalled, a new copy
    heap_locked(lambda: ob.put(cfg, b"E", 1, True, True))  # finding and rewriting allocate nothing
    assert ob.occupancy() == 2 and ob.replaced == 7


def test_a_refused_replacement_keeps_the_old_copy():
    ob = Outbox(2, 256, policy=DROP_NEWEST)
    cfg = b"ha/dev/config"
    assert ob.put(T, b"a") and ob.put(cfg, b"AAAA", 1, True, True)
    assert not ob.put(cfg, b"longer", 1, True, True)  # no room for the new size: refused, counted
    assert ob.dropped == 1 and ob.replaced == 0 and ob.pending() == 2
    assert [p[3] for p in publish_packets(drain(ob))] == [b"a", b"AAAA"]


def test_the_control_queue_is_sized_from_the_declarations():
    """Room for the CONNECT, then for the birth, SUBSCRIBE, goodbye, DISCONNECT, a PINGREQ
    and 16 PUBACKs at once, and not a byte more. What does not fit is a dead letter."""
    from rill.mqtt import Bridge, _prep
    from rill.mqtt.close import bye
    from rill.mqtt.packet import PINGREQ

    mq = Bridge("127.0.0.1", "ctl-1", user="u" * 30, password="p" * 30, status_topic="s/{device}/" + "x" * 90,
                seq=None, outbox=4)
    for i in range(6):
        mq.subscribe("c/{device}/%d/%s/#" % (i, "y" * 40), "cmd%d" % i)
    s = _prep("start.new_session", mq)
    assert s.push(s.hello)
    s = _prep("start.new_session", mq)
    assert s.push(s.birth[1]) and s.push(s.sub)
    for _ in range(16):
        assert s.push(b"\x40\x02\x00\x01")  # PUBACKs
    assert s.push(PINGREQ)
    mq.seq.n = (1 << 63) - 1  # the goodbye at its longest: "next" of 19 digits
    assert bye(s) and mq.inbox.rejected["unsent"] == 0
    assert s.tail - s.head == len(s.ctl), (s.tail - s.head, len(s.ctl))  # exactly what they need
    said = []
    mq.inbox.log = said.append
    s.said_bye = False
    assert bye(s) and mq.inbox.rejected["unsent"] == 1  # a full queue: counted, a dead letter, one line
    assert said == ["mqtt: dead letter goodbye: mqtt unsent: does not fit the control queue (%d bytes)" % len(s.ctl)]
    assert [e[0] for e in mq.inbox.dead.entries()] == ["goodbye"]


def test_topic_templates():
    from rill.mqtt import Bridge

    mq = Bridge("127.0.0.1", "d1", seq=None, outbox=4)
    link = mq.publish("env", "s/{device}/{room}/env")
    assert isinstance(link, Outbound) and mq.outs == [link]
    assert link.topic({"room": "kitchen", "t": 1.0}) == b"s/d1/kitchen/env"
    with raises(KeyError):
        link.topic({"t": 1.0})
    fixed = mq.publish("t", "s/{device}/t")
    assert fixed.fixed == b"s/d1/t" and fixed.topic(3.0) is fixed.fixed
    with raises(ValueError, "qos must be 0 or 1"):
        mq.publish("t", "s/t", qos=2)


def test_json_envelope():
    b = JSON.wrap("dev-1", 3, 42, {"t": 21.5})
    assert b == b'{"dev":"dev-1","boot":3,"seq":42,"v":{"t":21.5}}'
    assert JSON.unwrap(memoryview(b)) == ("dev-1", 42, {"t": 21.5})
    for bad in (b'{"dev":"d","v":1}', b"[1]", b"{oops", b'{"dev":"d","seq":-1,"v":1}',
                b'{"dev":"d","seq":true,"v":1}', b'{"dev":"d" "seq":1,"v":1}'):
        with raises(ValueError):
            JSON.unwrap(bad)


def test_struct_envelope():
    c = Struct(">hf", ("a", "b"))
    b = c.wrap("d1", 7, 2**40 + 5, {"a": -3, "b": 0.5})
    assert len(b) == 2 + 2 + 4 + 8 + 6 and b[0] == 0xB2
    assert c.unwrap(memoryview(b)) == ("d1", 2**40 + 5, {"a": -3, "b": 0.5})
    assert Struct("<f").decode(Struct("<f").encode(1.25)) == 1.25
    for bad in (b[:-1], b"\x00" + b[1:], b""):
        with raises(ValueError):
            c.unwrap(bad)


def test_backoff_grows_with_jitter_and_is_capped():
    b = Backoff(100, 1000)
    seen = [b.next() for _ in range(8)]
    for d, nominal in zip(seen, (100, 200, 400, 800, 1000, 1000, 1000, 1000)):
        assert nominal // 2 <= d <= nominal, (d, nominal)
    b.reset()
    assert 50 <= b.next() <= 100


def test_backoff_probes_a_young_outage_every_probe_ms_then_grows():
    """While the outage is younger than ``young`` the delay stops at ``probe`` (jittered to
    [probe/2, probe]); after that it doubles on to the cap; reset() starts a new outage."""
    import time

    b = Backoff(50, 3200, True, 300, 200)
    young = [b.next() for _ in range(8)]
    assert all(25 <= d <= 200 for d in young) and all(100 <= d for d in young[2:]), young
    time.sleep(0.35)
    old = [b.next() for _ in range(5)]
    for d, nominal in zip(old, (400, 800, 1600, 3200, 3200)):
        assert nominal // 2 <= d <= nominal, (old, nominal)
    b.reset()
    assert [b.next() <= 200 for _ in range(5)] == [True] * 5


def test_backoff_jitter_spreads_a_fleet_that_lost_its_broker_at_once():
    """100 bridges' backoffs (the defaults: young outage, probe 1 s), one shared clock as in
    ``rill fleet``: the broker dies at 0 and is back at 7.5 s. Each device's first attempt
    after the return comes within 1 s (prompt), and they are spread over that second, not
    one burst: no 100 ms slot takes more than a third of the fleet (uniform random draws put at
most 26 of 100 in one slot in 2,000 simulated outages; lockstep puts all 100 there). (The schedule alone,
    on a shared clock, the harder case for the jitter; host_tests/tools/
    test_fleet_reconnect.py has ``rill fleet``'s 100 bridges against a stopped mosquitto.)"""
    back = 7500
    firsts = []
    for _ in range(100):
        b = Backoff(250, 30000, True, 300000)
        t = 0
        while t < back:
            t += b.next()
        firsts.append(t - back)
    assert max(firsts) <= 1000, max(firsts)
    slots = [0] * 10
    for f in firsts:
        slots[min(f // 100, 9)] += 1
    assert max(slots) <= 33 and max(firsts) - min(firsts) >= 500, (slots, sorted(firsts))
    lockstep = []
    for _ in range(100):  # without jitter every device comes at once: the test can tell
        b = Backoff(250, 30000, False, 300000)
        t = 0
        while t < back:
            t += b.next()
        lockstep.append(t)
    assert len(set(lockstep)) == 1


def test_packet_encoders_write_what_the_outbox_and_session_send():
    buf = bytearray(32)
    j = put_publish(buf, 0, b"a/b", b"hi", 1 << 1 | 1)  # QoS 1, retained
    assert bytes(buf[:11]) == b"\x33\x09\x00\x03a/b\x00\x00hi" and j == 7
    assert publish_size(3, 2, 1) == 11 and publish_size(3, 200, 0) == 208
    assert header(b"\x30\xc8\x01", 0, 3) == 200 << 3 | 3 and header(b"\x30\xc8", 0, 2) == -1
    with raises(ProtocolError, match="remaining length"):
        header(b"\x30\xff\xff\xff\xff\x01", 0, 6)
    c = connect(b"id", 30, True, b"u", b"p", (b"s", b"off", 1, True))
    assert bytes(c[:2]) == b"\x10" + bytes([len(c) - 2]) and c[9] == 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02
    assert bytes(subscribe([(b"x/#", 1)], 0xFFFF)) == b"\x82\x08\xff\xff\x00\x03x/#\x01"
    heap_locked(lambda: put_publish(buf, 0, b"a/b", b"hi", 0))


def _fresh(path):
    import os

    for s in (".0", ".1"):
        try:
            os.remove(path + s)
        except OSError:
            pass


def _tmp(name):
    return scratch("units") + "/" + name


def test_sequence_only_increases_across_restarts_and_counts_boots():
    path = _tmp("seq")
    _fresh(path)
    try:
        s = Sequence(path, block=10)
        assert [s.next() for _ in range(15)] == list(range(15)) and s.boot == 0
        again = Sequence(path, block=10)  # a reboot: resumes past everything handed out
        assert again.next() >= 20 and again.boot == 1
        assert Sequence(path, block=10).boot == 2
        assert Sequence().boot == 0 and Sequence().next() == 0  # RAM only
    finally:
        _fresh(path)


class PowerCut(Exception):
    pass


class CutSequence(Sequence):
    """A Sequence whose slot writes count down ``left[0]``; the last one stops after
    ``keep`` bytes, and the power goes."""

    def __init__(self, path, left, keep):
        self.left, self.keep = left, keep
        Sequence.__init__(self, path, block=4)

    def write(self, path, data):
        self.left[0] -= 1
        if self.left[0] == 0:
            with open(path, "wb") as f:
                f.write(data[:self.keep])
            raise PowerCut()
        Sequence.write(self, path, data)


def test_a_power_cut_at_every_step_of_a_write_never_reuses_a_number():
    path = _tmp("seqcut")
    for cut in range(1, 7):  # each boot writes twice: at boot, then a reservation at 4
        for keep in range(21):  # 0: truncated only; 20: written, then the power went
            _fresh(path)
            used = []
            boots = []
            left = [cut]
            try:
                for _ in range(3):  # three boots, each handing out 6 numbers
                    s = CutSequence(path, left, keep)
                    boots.append(s.boot)
                    for _ in range(6):
                        used.append(s.next())
            except PowerCut:
                pass
            assert left[0] == 0, cut
            after = Sequence(path, block=4)
            assert after.boot >= len(boots), (cut, keep, boots, after.boot)
            n = after.next()
            assert not used or n > max(used), (cut, keep, used, n)
    _fresh(path)


def test_a_corrupt_store_refuses_instead_of_restarting_at_zero():
    path = _tmp("seqbad")
    _fresh(path)
    try:
        s = Sequence(path, block=4)
        for _ in range(6):
            s.next()  # two slots written
        for slot in (".0", ".1"):
            with open(path + slot, "wb") as f:
                f.write(b"")
        with raises(SequenceError, match="corrupt"):
            Sequence(path)
        with open(path + ".1", "wb") as f:
            f.write(b"x" * 20)  # right size, wrong checksum
        with raises(SequenceError, match="corrupt"):
            Sequence(path)
    finally:
        _fresh(path)


def test_the_bridge_persists_sequence_numbers_by_default():
    import os

    from rill.mqtt import Bridge

    dev = "dflt-%s" % ("mp" if MICROPYTHON else "cpy")
    _fresh(".rill/" + dev + ".seq")
    try:
        small = {"outbox": 4}  # this is about numbers; three 6 KB arenas fragment the 128 KB heap here
        assert Bridge("127.0.0.1", dev, **small).seq.boot == 0
        assert os.stat(".rill/" + dev + ".seq.1")  # the first boot's reservation, in the state folder (made)
        for name in (dev + ".seq.0", dev + ".seq.1"):  # nothing in the current directory itself
            try:
                os.stat(name)
                raise AssertionError(name + " is in the current directory")
            except OSError:
                pass
        mq = Bridge("127.0.0.1", dev, **small)  # a reboot
        assert mq.seq.boot == 1 and mq.seq.next() >= 1000
        assert Bridge("127.0.0.1", dev, seq="/no/such/dir/{device}.seq", **small).seq.boot == 0  # no filesystem: RAM
    finally:
        _fresh(".rill/" + dev + ".seq")
