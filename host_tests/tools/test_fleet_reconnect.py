"""A fleet of 100 devices does not reconnect in one burst: `rill fleet` runs 100 real
bridges (Bridge defaults but for a 100 ms base: the young-outage probe every 0.5-1 s,
rill.backoff) against mosquitto, which is stopped for 2 s and started again. Every
device comes back within 1.5 s of the broker's return, spread out: no 100 ms slot takes
more than a third of the fleet (in lockstep all 100 would come in one). The unit test
of the schedule is test_mqtt_units.py::test_backoff_jitter_spreads...; this is the
fleet, its loop and the broker included."""
import json
import subprocess
import time

from test_rill_project import RILL
from tooltest import stop

DEVICES = 100


def test_a_fleet_of_100_reconnects_spread_out_after_the_broker_returns(tmp_path, broker):
    proc = subprocess.Popen([RILL, "fleet", "--devices", str(DEVICES), "--count", "14", "--rate", "2",
                             "--host", broker.host, "--port", str(broker.port), "--seq-dir", str(tmp_path / "seq")],
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert "devices online" in line, line + proc.stderr.read()[-2000:]
        time.sleep(0.5)
        down = time.time() * 1000
        broker.stop()
        time.sleep(2)
        broker.start()  # returns once it accepts connections
        back = time.time() * 1000
        out, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 0, err[-2000:]
    devices = json.loads(out.strip().splitlines()[-1])["devices"]
    assert len(devices) == DEVICES
    assert all(d["online"][0] < down for d in devices)  # online when the broker stopped
    delays = sorted(min(t for t in d["online"] if t >= back - 100) - back for d in devices)  # its first return
    slots = {}
    for ms in delays:
        slots[max(0, ms) // 100] = slots.get(max(0, ms) // 100, 0) + 1
    print("fleet reconnect after the broker's return: first %d ms, median %d ms, last %d ms; most in 100 ms: %d"
          % (delays[0], delays[len(delays) // 2], delays[-1], max(slots.values())))
    assert delays[-1] <= 1500, delays[-10:]
    assert max(slots.values()) <= DEVICES // 3, sorted(slots.items())
