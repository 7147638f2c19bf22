from rill import DROP, EMPTY, ERROR, DeadLetters, Latest, Mailbox, Queue, QueueFull, Ring
from testkit import raises, run


def drain(reader):
    out = []
    while True:
        v = reader.read()
        if v is EMPTY:
            return out
        out.append(v)


def test_ring_reader_sees_records_in_order():
    ring = Ring(4)
    r = ring.reader()
    for i in range(3):
        ring.put(i)
    assert drain(r) == [0, 1, 2]
    assert r.read() is EMPTY
    assert ring.produced == 3 and ring.consumed == 3 and ring.occupancy() == 3


def test_ring_overwrites_oldest_and_reader_learns_missed_once():
    ring = Ring(4)
    r = ring.reader()
    for i in range(10):
        ring.put(i)
    assert r.lag() == 10
    assert r.read() == 6  # oldest live record
    assert r.take_missed() == 6
    assert r.take_missed() == 0
    assert drain(r) == [7, 8, 9]
    assert ring.dropped == 6 and r.missed == 6


def test_ring_readers_have_independent_cursors():
    ring = Ring(3)
    fast, slow = ring.reader(), ring.reader()
    for i in range(3):
        ring.put(i)
        assert fast.read() == i
    ring.put(3)
    assert fast.read() == 3
    assert drain(slow) == [1, 2, 3]
    assert slow.take_missed() == 1 and fast.take_missed() == 0


def test_ring_late_reader_starts_at_oldest_live_record():
    ring = Ring(3)
    for i in range(5):
        ring.put(i)
    assert drain(ring.reader()) == [2, 3, 4]


def test_ring_wraps_many_times():
    ring = Ring(5)
    r = ring.reader()
    got = []
    for i in range(103):
        ring.put(i)
        if i % 3 == 0:
            got.extend(drain(r))
    got.extend(drain(r))
    assert got == list(range(103))


def test_ring_rejects_zero_capacity():
    with raises(ValueError):
        Ring(0)


def test_latest_keeps_newest_and_late_reader_gets_it_once():
    b = Latest()
    early = b.reader()
    assert early.read() is EMPTY
    b.put(1)
    b.put(2)
    assert early.read() == 2 and early.read() is EMPTY
    late = b.reader()
    assert late.read() == 2 and late.read() is EMPTY
    b.put(3)
    assert early.read() == 3 and late.read() == 3
    assert b.occupancy() == 1 and b.produced == 3


def test_mailbox_read_takes_value_and_counts_overwrite():
    m = Mailbox()
    assert m.read() is EMPTY
    m.put("a")
    m.put("b")
    assert m.dropped == 1
    assert m.read() == "b"
    assert m.read() is EMPTY
    assert m.consumed == 1 and m.occupancy() == 0


def test_queue_fifo():
    q = Queue(3)
    for i in range(3):
        assert q.put(i)
    assert [q.read(), q.read(), q.read()] == [0, 1, 2]
    assert q.read() is EMPTY


def test_queue_drop_policy_refuses_new_and_counts():
    q = Queue(2, DROP)
    assert q.put(1) and q.put(2)
    assert not q.put(3)
    assert q.dropped == 1 and q.occupancy() == 2
    assert q.read() == 1 and q.read() == 2


def test_queue_error_policy_raises():
    q = Queue(1, ERROR)
    q.put(1)
    with raises(QueueFull, match="capacity 1"):
        q.put(2)
    assert q.occupancy() == 1


def test_queue_rejects_unknown_policy():
    with raises(ValueError):
        Queue(2, policy=7)


def test_queue_put_wait_blocks_until_room():
    import asyncio

    q = Queue(2)
    order = []

    async def producer():
        for i in range(5):
            await q.put_wait(i)
            order.append(("put", i))

    async def consumer():
        got = []
        while len(got) < 5:
            v = q.read()
            if v is EMPTY:
                await asyncio.sleep_ms(0)
            else:
                got.append(v)
                order.append(("got", v))
        return got

    async def main():
        t = asyncio.create_task(producer())
        got = await consumer()
        await t
        return got

    assert run(main()) == [0, 1, 2, 3, 4]
    assert q.dropped == 0
    # the producer never got more than two ahead of the consumer
    puts = gots = 0
    for kind, _ in order:
        if kind == "put":
            puts += 1
        else:
            gots += 1
        assert puts - gots <= 2


def test_every_buffer_counts():
    for b in (Ring(2), Latest(), Mailbox(), Queue(2)):
        b.put(1)
        assert b.produced == 1 and b.occupancy() == 1 and b.dropped == 0 and b.consumed == 0
        assert b.reader().read() == 1
        assert b.consumed == 1


def test_dead_letters_are_bounded_and_keep_newest():
    d = DeadLetters(3)
    for i in range(5):
        d.add("k", i, "bad %d" % i)
    assert d.produced == 5
    assert d.entries() == [("k", 2, "bad 2"), ("k", 3, "bad 3"), ("k", 4, "bad 4")]
