"""Home Assistant discovery end to end: the example firmware on a virtual board, a real
broker, and a subscriber that does what Home Assistant does with the retained device
message: read the state topics, and toggle the LED and set the threshold through the
command topic with the payloads and template the message gives."""
import json
import time

from rill_host.deploy.plan import FIRMWARE, App
from rill_host.mqtt_host import Broker, Client, stop_group
from rill_host.vboard.run import Console, app_config, deploy, start_board

BOARD = "RPI_PICO_W"
DEVICE = "ha-e2e"


def wait_for(receive, pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = receive()
        if got and pred(got):
            return got
        if not got:
            time.sleep(0.02)
    return None


def says(console, text):
    """Has the board's console printed a line with ``text`` (within 10 s)?"""
    return wait_for(console.poll, lambda lines: any(text in ln for ln in lines), 10) is not None


def test_home_assistant_finds_the_board_and_drives_its_led(tmp_path):
    broker = Broker()
    broker.start()
    board = client = ha = None
    try:
        fs = str(tmp_path / "fs")
        deploy(fs, BOARD, App(FIRMWARE), app_config(App(FIRMWARE), DEVICE, BOARD, broker.port, False), False)
        board, _, log = start_board(BOARD, fs, str(tmp_path))
        console = Console(log)
        client = Client(broker.port, "ha-e2e-watch")
        client.subscribe("rill/%s/#" % DEVICE)
        client.subscribe("homeassistant/device/+/config")
        status = wait_for(lambda: client.receive(0.2), lambda m: m.topic.endswith("/status") and b"online" in m.payload,
                          30)
        assert status is not None, "no birth; the board said:\n" + "\n".join(console.poll())
        assert wait_for(lambda: client.receive(0.2), lambda m: m.topic.startswith("homeassistant/"), 10)

        ha = Client(broker.port, "ha-e2e-ha")  # Home Assistant subscribes later: the message is retained
        ha.subscribe("homeassistant/device/+/config")
        msg = wait_for(lambda: ha.receive(0.2), lambda m: True, 10)
        assert msg is not None and msg.retain and msg.topic == "homeassistant/device/%s/config" % DEVICE, msg
        assert len(msg.payload) < 2048, len(msg.payload)  # built once on the board, kept to re-send
        doc = json.loads(msg.payload)
        assert doc["dev"]["ids"] == [DEVICE] and doc["dev"]["mdl"] == BOARD and doc["o"]["name"] == "rill"
        assert doc["avty_t"] == status.topic and "object_id" not in msg.payload.decode()
        cmps = doc["cmps"]
        assert {c["p"] for c in cmps.values()} == {"sensor", "binary_sensor", "switch", "number"}

        temp = cmps["smooth"]
        assert temp["val_tpl"] == "{{ value_json.v }}"
        reading = wait_for(lambda: client.receive(0.2), lambda m: m.topic == temp["stat_t"], 10)
        assert isinstance(json.loads(reading.payload)["v"], float), reading

        led = cmps["cmd_led"]
        for payload, word in ((led["pl_on"], "led on"), (led["pl_off"], "led off")):
            ha.publish(led["cmd_t"], payload)  # what HA sends when the switch is flipped
            assert says(console, word), console.lines[-5:]
        number = cmps["cmd_threshold_c"]
        ha.publish(number["cmd_t"], number["cmd_tpl"].replace("{{ value }}", "27.5"))  # HA's template, rendered
        assert says(console, "threshold 27.5 C"), console.lines[-5:]
        assert not [ln for ln in console.lines if "dead letter" in ln or "Traceback" in ln], console.lines
    finally:
        if board is not None:
            stop_group(board)
        for c in (client, ha):
            if c is not None:
                c.close()
        broker.close()
