"""Deep-sleep duty cycles: wake, sample, publish, sleep, keeping sequence numbers and
unsent records over the sleep.

    dc = DutyCycle(machine, ".rill/node.sleep")   # first thing in main: it times the wake
    mq = Bridge(host, device="node", seq=dc.sequence(".rill/node.seq"))
    dc.restore(mq)                 # last cycle's unsent records, back in the outbox first
    ... p.source("t", sensor.read, every_ms=60000); mq.attach(p); g = p.build(board)
    await dc.run(g, mq)            # samples every every_ms source once, publishes, sleeps

The state kept over a sleep: the sequence store's position (boot, next number, the end
of the block reserved on flash, its generation), the undelivered records (each a
finished PUBLISH), the cycle count, the readings dropped so far and the last cycle's
awake time. Where the port has RTC user memory (``machine.RTC().memory()``, 2 KB on the
ESP32) it goes there: 0 flash writes per cycle, plus one sequence reservation every
``block`` numbers. Where it has not (RP2040), or when the records do not fit, the
position goes to the file ``path`` (1 write per cycle, and 1 remove at the wake, so a
stale state is never read twice) and the records that do not fit go to the bridge's
spill log through its own functions (spill.put, Spill.flush: one batch write). Records
that fit nowhere are counted in ``dropped``, carried over the sleep.

Keys: a wake from deep sleep (``reset_cause() == DEEPSLEEP_RESET`` with a state that
checks) is not a boot: the boot counter stays and numbering continues where the last
cycle stopped, inside the block already reserved on flash, so (device, boot, seq) is
never reused. Any other start (power-on, crash, watchdog, a lost RTC domain) loads the
store as usual: a new boot, past every reserved number.

Heap: nothing unless imported; a cycle's state is one bytes object of its size.
"""
import asyncio
import struct
import time
from binascii import crc32

_MAGIC = b"RSL1"
_HEAD = ">IIQQIIII"  # gen, boot, n, end, cycles, dropped, awake_ms, records
_HSIZE = struct.calcsize(_HEAD)
RTC_MAX = 2048  # the ESP32 port's RTC user memory
FILE_MAX = 4096  # the state file's bound where there is none: one flash page


class DutyCycle:
    """One wake of a duty-cycled board. ``machine``: the port's (or rill.sim.machine);
    ``path``: the state file where there is no RTC memory; ``rtc``: use RTC memory when
    the port has it (False: always the file)."""

    def __init__(self, machine, path, rtc=True, max_awake_ms=10000):
        self.t0 = time.ticks_ms()
        self.machine = machine
        self.path = path
        self.max_awake_ms = max_awake_ms
        self.rtc = None
        if rtc and hasattr(machine, "RTC"):
            r = machine.RTC()
            if hasattr(r, "memory"):
                self.rtc = r
        self.woke = machine.reset_cause() == machine.DEEPSLEEP_RESET
        self.cycles = self.dropped = self.awake_ms = 0
        self.records = []  # (topic, payload, qos, retain) kept over the last sleep
        self.seq_state = None
        self.flash_writes = 0  # this cycle's: state file, sequence reservations, spill batches
        self.saved = None  # what sleep() wrote: for a test's look
        if self.woke:
            self._load()

    # -- the wake ------------------------------------------------------------------------

    def _read(self):
        if self.rtc is not None:
            data = self.rtc.memory()
            if data[:4] == _MAGIC:
                self.rtc.memory(b"")  # read once: a later deepsleep without sleep() finds nothing
                return data
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        import os

        os.remove(self.path)
        return data

    def _load(self):
        data = self._read()
        if not data or data[:4] != _MAGIC or len(data) < 8 + _HSIZE:
            self.woke = False
            return
        body = data[4:-4]
        if struct.unpack(">I", data[-4:])[0] != crc32(body) & 0xFFFFFFFF:
            self.woke = False  # torn or stale: load the store as after any boot
            return
        gen, boot, n, end, self.cycles, self.dropped, self.awake_ms, count = struct.unpack(_HEAD, body)
        self.seq_state = (gen, boot, n, end)
        i = _HSIZE
        for _ in range(count):
            ln = body[i] << 8 | body[i + 1]
            self.records.append(_unpack(body[i + 2:i + 2 + ln]))
            i += 2 + ln

    def sequence(self, path, block=1000):
        """The bridge's Sequence: continued from the state after a wake (no flash write), else
        loaded from ``path`` (a boot)."""
        from .mqtt.seq import Sequence

        if self.seq_state is None:
            s = Sequence(path, block=block)
            self.flash_writes += 1  # the boot's reservation
        else:
            s = Sequence(None)
            s.path, s.block = path, block
            s.gen, s.boot, s.n, s.end = self.seq_state
        self.seq = s
        self._gen0 = s.gen
        return s

    def restore(self, bridge):
        """Put the records kept over the sleep back in the outbox, before any new one."""
        for r in self.records:
            bridge.put(*r)
        self.records = []

    # -- the cycle -----------------------------------------------------------------------

    async def run(self, graph, bridge, give_up=1):
        """Run ``graph``, sample each every_ms source once, wait until the bridge has delivered
        everything (or has failed ``give_up`` connection attempts, or ``max_awake_ms`` has
        passed), then sleep for the shortest source period less the time awake."""
        task = asyncio.create_task(graph.run())
        await asyncio.sleep_ms(0)
        period = None
        for src in graph.sources:
            if src.every_ms:
                period = src.every_ms if period is None else min(period, src.every_ms)
                value = src.fn()
                if value is not None:
                    graph.push(src.out, value)
        while time.ticks_diff(time.ticks_ms(), self.t0) < self.max_awake_ms:
            await asyncio.sleep_ms(5)
            if bridge.failures >= give_up or bridge.state == "refused":
                break
            if bridge.state == "online" and bridge.outbox.pending() == 0:
                break
        task.cancel()
        self.sleep(bridge, period or 60000)

    def sleep(self, bridge, period_ms):
        """Save the state and deep-sleep for ``period_ms`` less the time awake (at least 1 ms)."""
        awake = time.ticks_diff(time.ticks_ms(), self.t0)
        data = self.save(bridge, awake)
        self.machine.deepsleep(max(1, period_ms - awake))
        return data  # (a port whose deepsleep returns: the host)

    def save(self, bridge, awake):
        """Write the state (RTC memory, else the file) and return it."""
        ob = bridge.outbox
        s = self.seq
        dropped = self.dropped + ob.dropped
        records = [_pack(*e) for e in _pending(ob)]
        log = ob.spill
        room = (RTC_MAX if self.rtc is not None else FILE_MAX) - 8 - _HSIZE
        keep = []
        for r in records:
            if room >= len(r) + 2:
                keep.append(r)
                room -= len(r) + 2
            elif log is None:
                dropped += 1
            else:
                from .mqtt.spill import put

                if not put(ob, *_unpack(r)):
                    dropped += 1
                log = ob.spill
        if log is not None and not isinstance(log, tuple):
            log.flush()
            self.flash_writes += log.writes  # every batch this wake wrote
        self.flash_writes += s.gen - self._gen0  # reservations made this cycle
        body = struct.pack(_HEAD, s.gen, s.boot, s.n, s.end, self.cycles + 1, dropped, awake, len(keep))
        body += b"".join(struct.pack(">H", len(r)) + r for r in keep)
        data = _MAGIC + body + struct.pack(">I", crc32(body) & 0xFFFFFFFF)
        if self.rtc is not None and len(data) <= RTC_MAX:
            self.rtc.memory(data)
        else:
            with open(self.path, "wb") as f:
                f.write(data)
            self.flash_writes += 1
        self.saved = (len(keep), dropped, awake)
        return data


def _pending(ob):
    """(topic, payload, qos, retain) of each RAM outbox entry not yet delivered, oldest first."""
    cap = ob.capacity
    slot = ob.tail
    for _ in range(ob.count):
        if ob.state[slot] < 2:  # queued or in flight (outbox._DONE is 2)
            at = ob.index[slot]
            yield _parse(ob.buf, at, at + ob._len[slot])
        slot = slot + 1 if slot + 1 < cap else 0


def _parse(buf, i, end):
    """A PUBLISH packet's (topic, payload, qos, retain)."""
    b0 = buf[i]
    i += 1
    while buf[i] & 0x80:  # remaining length: its value is implied by ``end``
        i += 1
    i += 1
    tl = buf[i] << 8 | buf[i + 1]
    topic = bytes(buf[i + 2:i + 2 + tl])
    i += 2 + tl
    qos = b0 >> 1 & 3
    if qos:
        i += 2  # packet id: a new one is given when it is sent again
    return topic, bytes(buf[i:end]), qos, bool(b0 & 1)


def _pack(topic, payload, qos, retain):
    return struct.pack(">BH", qos << 1 | (1 if retain else 0), len(topic)) + topic + payload


def _unpack(r):
    tl = r[1] << 8 | r[2]
    return bytes(r[3:3 + tl]), bytes(r[3 + tl:]), r[0] >> 1, bool(r[0] & 1)
