"""The sequence store never hands out a (boot, seq) key twice, nor a seq number twice:
whatever happens to either of its slot files (truncated at every length, garbage, every
byte flipped, too long, missing), and wherever the power goes during any slot write. Or
it refuses to start, with one sentence (issue 18: one damaged slot restarted a device at
boot 0, seq 0; a damaged newer slot fell back to the older one and reused its numbers)."""
import os

from rill.mqtt.seq import Sequence, SequenceError
from testkit import scratch

BLOCK = 4


def _tmp(name):
    return scratch("seq") + "/" + name


def _fresh(path):
    for s in (".0", ".1"):
        try:
            os.remove(path + s)
        except OSError:
            pass


class PowerCut(Exception):
    pass


class Device:
    """Boots of one device on the store at ``path``, each handing out ``count`` numbers;
    every key handed out is kept. ``cut`` (write number, bytes kept): that slot write
    stops after the bytes kept, and the power goes."""

    def __init__(self, path, cut=None):
        self.path = path
        self.keys = []
        self.writes = 0
        self.cut = cut
        self.refused = None

    def boot(self, count):
        dev = self

        class S(Sequence):
            def write(self, path, data):
                dev.writes += 1
                if dev.cut and dev.writes == dev.cut[0]:
                    with open(path, "wb") as f:
                        f.write(data[:dev.cut[1]])
                    raise PowerCut()
                Sequence.write(self, path, data)

        try:
            s = S(self.path, block=BLOCK)
            for _ in range(count):
                self.keys.append((s.boot, s.next()))
        except PowerCut:
            pass
        except SequenceError as e:
            self.refused = str(e)

    def check(self):
        keys = self.keys
        assert len(set(keys)) == len(keys), keys  # no (boot, seq) twice
        seqs = [n for _, n in keys]
        assert len(set(seqs)) == len(seqs), keys  # no seq number twice either
        if self.refused is not None:  # one sentence, naming the store
            assert self.path in self.refused and "\n" not in self.refused and "corrupt" in self.refused


HISTORIES = ((2,), (6,), (6, 6, 6), (1, 9))  # numbers handed out per boot: one slot reservation, two, several boots


def damages(data):
    """(name, new content or None for a missing file) for every damage to a slot's ``data``."""
    for k in range(len(data)):
        yield "truncated to %d" % k, data[:k]
    yield "garbage", b"\xa5" * len(data)
    for i in range(len(data)):
        yield "byte %d flipped" % i, data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:]
    yield "too long", data + b"\x00"
    yield "missing", None


def test_every_damage_to_either_slot_moves_to_an_unused_boot_or_refuses():
    path = _tmp("seqdmg")
    refusals = 0
    cases = 0
    try:
        for history in HISTORIES:
            for slot in (".0", ".1"):
                _fresh(path)
                dev = Device(path)
                for count in history:
                    dev.boot(count)
                kept = {}
                for other in (".0", ".1"):
                    try:
                        with open(path + other, "rb") as f:
                            kept[other] = f.read()
                    except OSError:
                        kept[other] = None  # not written by this history
                if kept[slot] is None:
                    continue
                for name, bad in damages(kept[slot]):
                    _fresh(path)
                    for other in (".0", ".1"):  # the store as the history left it
                        if kept[other] is not None:
                            with open(path + other, "wb") as f:
                                f.write(kept[other])
                    if bad is None:
                        os.remove(path + slot)
                    else:
                        with open(path + slot, "wb") as f:
                            f.write(bad)
                    d = Device(path)
                    d.keys = list(dev.keys)
                    d.boot(3)
                    d.boot(3)  # and the boot after the recovery
                    d.check()
                    cases += 1
                    if d.refused is not None:
                        refusals += 1
                    else:
                        used = max(b for b, _ in dev.keys)
                        assert d.keys[len(dev.keys)][0] > used, (history, slot, name, d.keys)
    finally:
        _fresh(path)
    assert cases >= len(HISTORIES) * 43 and refusals == 0, (cases, refusals)  # one damaged slot: never refused


def test_the_issues_case_a_damaged_only_reservation_does_not_restart_at_boot_0():
    path = _tmp("seqone")
    _fresh(path)
    try:
        s = Sequence(path, block=1000)
        used = [s.next() for _ in range(5)]
        with open(path + ".1", "wb") as f:  # the slot of the first reservation, damaged
            f.write(b"")
        again = Sequence(path, block=1000)
        assert again.boot > 0 and again.next() > max(used), (again.boot, again.n)
    finally:
        _fresh(path)


def test_both_slots_damaged_refuse_in_one_sentence():
    path = _tmp("seqboth")
    _fresh(path)
    try:
        dev = Device(path)
        dev.boot(6)
        for slot in (".0", ".1"):
            with open(path + slot, "wb") as f:
                f.write(b"x" * 20)
        dev.boot(3)
        assert dev.refused is not None, dev.keys
        dev.check()
        os.remove(path + ".0")  # slot 1 without slot 0: numbers were used, so still refused
        dev.refused = None
        dev.boot(3)
        assert dev.refused is not None
    finally:
        _fresh(path)


def test_a_power_cut_at_every_byte_of_every_slot_write():
    path = _tmp("seqcut")
    writes = 0
    try:
        _fresh(path)
        full = Device(path)
        for count in (6, 6, 6):
            full.boot(count)
        writes = full.writes  # every slot write of three boots
        for cut in range(1, writes + 1):
            for keep in range(21):  # 0: truncated only; 20: written, then the power went
                _fresh(path)
                dev = Device(path, (cut, keep))
                for count in (6, 6, 6):
                    dev.boot(count)
                    if dev.writes >= cut:
                        break
                dev.cut = None
                dev.boot(6)  # the boots after the cut
                dev.boot(6)
                dev.check()
                assert dev.refused is None, (cut, keep, dev.refused)
    finally:
        _fresh(path)
    assert writes >= 6, writes  # reservations at each boot and every block
