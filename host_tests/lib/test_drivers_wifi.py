"""Wi-Fi: bounded connection attempts with exponential backoff, status records, the
loop kept free while connecting, and an honest "unavailable" where there is no Wi-Fi."""
import asyncio

from rill import board
from rill.wifi import WiFi
from testkit import run


class FakeWLAN:
    """network.WLAN stand-in: connects after ``polls`` isconnected() calls, or never (None)."""

    def __init__(self, polls=None):
        self.polls = polls
        self.connects = 0
        self.up = False
        self.joining = False
        self.seen = 0

    def active(self, on=None):
        return True

    def connect(self, ssid, key):
        self.connects += 1
        self.joining = True
        self.seen = 0

    def disconnect(self):
        self.up = self.joining = False

    def status(self):
        return 1 if not self.up else 3

    def isconnected(self):
        if self.joining and not self.up and self.polls is not None:
            self.seen += 1
            if self.seen > self.polls:
                self.up = True
        return self.up

    def ifconfig(self):
        return ("192.168.4.2", "255.255.255.0", "192.168.4.1", "192.168.4.1")


def _collect(wifi, ms, also=None, until=None):
    """Run ``wifi`` for ``ms``, or with ``until``, until ``until(statuses)`` holds (``ms``
    is then the limit: waiting for a state, not a time, keeps a loaded machine from failing it)."""

    async def main():
        got = []
        task = asyncio.create_task(wifi.run(got.append))
        other = asyncio.create_task(also()) if also else None
        waited = 0
        while waited < ms and not (until and until(got)):
            await asyncio.sleep_ms(2)
            waited += 2
        task.cancel()
        if other:
            other.cancel()
        await asyncio.sleep_ms(0)
        return got

    return run(main())


def test_connects_and_reports_up_with_the_address():
    w = WiFi(FakeWLAN(polls=3), "net", "pw", poll_ms=1, check_ms=5)
    got = _collect(w, 2000, until=lambda got: len(got) >= 2)
    assert [s["state"] for s in got[:2]] == ["connecting", "up"]
    assert got[1]["ip"] == "192.168.4.2" and got[1]["attempt"] == 1
    assert w.attempts == 1 and w.failures == 0 and w.status["state"] == "up"


def test_timeouts_back_off_exponentially():
    wlan = FakeWLAN(polls=None)
    w = WiFi(wlan, "net", "pw", timeout_ms=10, backoff_ms=10, backoff_max_ms=40, poll_ms=2)
    got = _collect(w, 3000, until=lambda got: len([s for s in got if s["state"] == "down"]) >= 4)
    downs = [s for s in got if s["state"] == "down"]
    assert len(downs) >= 4
    assert "no connection after 10 ms" in downs[0]["reason"]
    assert [d["reason"].split("retry in ")[1] for d in downs[:4]] == ["10 ms", "20 ms", "40 ms", "40 ms"]
    assert [d["attempt"] for d in downs[:3]] == [1, 2, 3]
    assert w.failures == len(downs) and wlan.connects == w.attempts


def test_link_loss_is_reported_and_reconnected():
    wlan = FakeWLAN(polls=0)
    w = WiFi(wlan, "net", "pw", poll_ms=1, check_ms=5, backoff_ms=1)

    async def drop():
        await asyncio.sleep_ms(12)
        wlan.up = wlan.joining = False
        wlan.polls = 2

    got = _collect(w, 3000, also=drop, until=lambda got: len(got) >= 5)
    states = [s["state"] for s in got]
    assert states[:5] == ["connecting", "up", "down", "connecting", "up"]
    assert got[2]["reason"] == "link lost"


def test_other_tasks_keep_running_while_it_connects():
    ticks = [0]

    async def counter():
        while True:
            ticks[0] += 1
            await asyncio.sleep_ms(2)

    w = WiFi(FakeWLAN(polls=None), "net", "pw", timeout_ms=100, poll_ms=5)
    got = _collect(w, 3000, also=counter, until=lambda got: len(got) >= 2)
    assert got[1]["state"] == "down"
    assert ticks[0] >= 5  # the 100 ms attempt never blocked the loop


def test_no_wifi_is_reported_honestly():
    got = _collect(WiFi(None, "net", "pw"), 2000, until=len)
    assert got == [{"state": "unavailable", "ip": "", "attempt": 0, "reason": "no wifi hardware"}]
    got = _collect(board.load("RPI_PICO").wifi("net", "pw"), 2000, until=len)
    assert got[0]["reason"] == "board RPI_PICO has no networking"
    got = _collect(board.load("RPI_PICO_W").wifi("net", "pw"), 2000, until=len)
    assert got[0]["reason"] == "no wifi hardware (simulated RPI_PICO_W)"
