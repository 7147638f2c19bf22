"""First configuration on the virtual board: the example app, deployed as .mpy, starts with
no Wi-Fi credentials and an access point in config.json, so the board serves rill.portal's
page (on the host's loopback, where the virtual board's sockets are). A real HTTP client
(urllib) gets the form; a malformed POST gets 400 and one sentence; wrong credentials fail
with the radio's status; good ones are saved to the board's config.json and the board's
station joins the simulated network (rill vboard --wifi): its console says "wifi up", and
the bridge publishes its birth to a real mosquitto all along."""
import json
import os
import socket
import time
import urllib.error
import urllib.request

from rill_host.deploy.plan import FIRMWARE, App
from rill_host.mqtt_host import Broker, Client, stop_group
from rill_host.vboard.run import app_config, deploy, start_board

BOARD = "RPI_PICO_W"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _http(url, data=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _wait(cond, s=20):
    deadline = time.monotonic() + s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_page_stores_credentials_and_the_board_joins(tmp_path):
    broker = Broker()
    broker.start()
    board = client = None
    try:
        client = Client(broker.port, "watch")
        client.subscribe("rill/+/status")
        page_port = _free_port()
        fs, work = str(tmp_path / "fs"), str(tmp_path)
        config = app_config(App(FIRMWARE), "first", BOARD, broker.port, console=False)
        config["wifi"] = {"ap": {"ssid": "first-setup", "port": page_port}}
        deploy(fs, BOARD, App(FIRMWARE), config, source=False)
        board, _, log = start_board(BOARD, fs, work, extra=["--wifi", "home=secret123"])

        def console():
            with open(log, "rb") as f:
                return f.read().decode(errors="replace")

        url = "http://127.0.0.1:%d/" % page_port
        assert _wait(lambda: "app: wifi portal" in console()), console()[-2000:]
        birth = client.receive(10)
        assert birth is not None and json.loads(birth.payload)["status"] == "online"  # records flow without Wi-Fi
        code, page = _http(url)
        assert code == 200 and '<input name="ssid"' in page and "first-setup" in page
        assert _http(url, b"ssid=" + b"x" * 33 + b"&password=secret123") == (
            400, "A network name is 1 to 32 bytes long; this one is 33.")
        assert _http(url, b"password=secret123") == (400, "The form needs both fields, ssid and password.")
        assert _http(url, b"x" * 2000) == (400, "The request is longer than 1024 bytes.")
        code, page = _http(url, b"ssid=home&password=not-the-key")
        assert code == 200 and "Could not join home: wrong password (status -3)" in page
        code, page = _http(url, b"ssid=home&password=secret123")
        assert code == 200 and "Joined home; saved to config.json." in page
        assert _wait(lambda: "app: wifi up 127.0.0.1" in console()), console()[-2000:]
        with open(os.path.join(fs, "config.json")) as f:
            wifi = json.load(f)["wifi"]
        assert wifi == {"ap": {"ssid": "first-setup", "port": page_port}, "ssid": "home", "password": "secret123"}
        try:
            urllib.request.urlopen(url, timeout=2)
            served = True
        except OSError:
            served = False
        assert not served  # the page and the access point are gone
        assert "Traceback" not in console()
    finally:
        if board is not None:
            stop_group(board)
        if client is not None:
            client.close()
        broker.close()
