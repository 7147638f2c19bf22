"""First configuration (rill.portal) on the simulated board: no credentials, so the access
point serves the page; a client (asyncio streams, in-process) gets the form, bad requests
get 400 and one sentence, wrong credentials fail with the radio's status, good ones join,
land in config.json and close the page. Also: the simulated network's joins."""
import asyncio
import json
import random

from rill import board
from rill.portal import MAX_REQUEST, Bad, form
from rill.sim import network
from testkit import raises, run, scratch, until

AIR = {"home": "secret123", "open": ""}


def _config():
    folder = scratch("portal")
    path = folder + "/config.json"
    with open(path, "w") as f:
        f.write(json.dumps({"device": "n1", "wifi": {"ap": {"ssid": "n1-setup"}}}))
    return path


async def _http(port, data):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    got = b""
    while True:
        chunk = await reader.read(512)
        if not chunk:
            break
        got += chunk
    writer.close()
    await writer.wait_closed()
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode()


def _post(body):
    return b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def test_the_form_checks_its_fields():
    assert form(b"ssid=my+net%21&password=secret123") == ("my net!", "secret123")
    assert form(b"ssid=open&password=") == ("open", "")
    for body, said in ((b"ssid=" + b"x" * 33 + b"&password=", "1 to 32 bytes long; this one is 33"),
                       (b"ssid=&password=", "this one is 0"),
                       (b"password=secret123", "needs both fields"),
                       (b"ssid=a&password=short", "8 to 63 characters; this one is 5"),
                       (b"ssid=a%zz&password=", "malformed %-escape"),
                       (b"ssid=%ff%fe&password=", "not UTF-8")):
        with raises(Bad, said):
            form(body)


def test_the_page_stores_credentials_and_the_board_joins():
    network.AIR = AIR
    path = _config()
    port = 20000 + random.getrandbits(14)
    bd = board.load("RPI_PICO_W")
    w = bd.wifi(None, "", ap={"ssid": "n1-setup", "port": port, "config": path}, poll_ms=10)
    said = []

    async def main():
        task = asyncio.create_task(w.run(said.append))
        assert await until(lambda: said, 2000)
        assert said[0]["state"] == "portal"
        assert said[0]["reason"] == "access point n1-setup: http://127.0.0.1:%d/" % port
        assert w.ap.active() and w.ap.config("ssid") == "n1-setup"
        code, page = await _http(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert code == 200 and '<input name="ssid"' in page and "n1-setup" in page
        code, _ = await _http(port, b"GET /generate_204 HTTP/1.1\r\n\r\n")
        assert code == 302  # a phone's probe is sent to the page
        bad = [(_post(b"ssid=" + b"x" * 40 + b"&password="), "A network name is 1 to 32 bytes long; this one is 40."),
               (_post(b"ssid=home"), "The form needs both fields, ssid and password."),
               (b"HELLO\r\n\r\n", "The request line is not METHOD /path HTTP/1.x."),
               (b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n", "The Content-Length is not a number of bytes."),
               (b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", "The request is longer than 1024 bytes."),
               (b"GET /" + b"a" * (MAX_REQUEST + 10) + b" HTTP/1.1\r\n\r\n", "The request is longer than 1024 bytes."),
               (b"PUT / HTTP/1.1\r\n\r\n", "Only GET and POST are served here.")]
        for data, sentence in bad:
            assert await _http(port, data) == (400, sentence)
        assert w.ap.active()  # still serving after all that
        code, page = await _http(port, _post(b"ssid=home&password=wrong-one"))
        assert code == 200 and "Could not join home: wrong password (status -3)" in page
        code, page = await _http(port, _post(b"ssid=elsewhere&password="))
        assert "Could not join elsewhere: no network of that name (status -2)" in page
        with open(path) as f:
            assert "ssid" not in json.load(f)["wifi"]  # nothing saved that did not join
        code, page = await _http(port, _post(b"ssid=home&password=secret123"))
        assert code == 200 and "Joined home" in page
        assert await until(lambda: said[-1]["state"] == "up", 2000)
        task.cancel()
        await asyncio.sleep_ms(0)

    try:
        run(main())
    finally:
        network.AIR = None
    with open(path) as f:
        cfg = json.load(f)
    assert cfg == {"device": "n1", "wifi": {"ap": {"ssid": "n1-setup"}, "ssid": "home", "password": "secret123"}}
    assert said[-1]["ip"] == "127.0.0.1" and not w.ap.active() and w.wlan.isconnected()
    assert w.failures == 2 and w.wlan.joins == 3


def test_no_credentials_and_no_access_point_says_so():
    network.AIR = AIR
    try:
        w = board.load("RPI_PICO_W").wifi(None, "")

        async def main():
            said = []
            task = asyncio.create_task(w.run(said.append))
            await until(lambda: said, 1000)
            task.cancel()
            return said

        said = run(main())
    finally:
        network.AIR = None
    assert said[0]["state"] == "unavailable" and said[0]["reason"] == "no Wi-Fi credentials"
