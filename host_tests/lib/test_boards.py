"""Board files: every board has every field, its pins exist on its MCU and can do
their job, and the loader chooses simulated hardware on the host."""
import json
import os

import rill.graph  # noqa: F401  compiled before the simulator fills the 128 KB heap with fragments
from rill import GraphError, Pipeline, board
from testkit import raises

ROOT = board._ROOT
BOARDS = ("ESP32_GENERIC", "ESP32_GENERIC_S3", "RPI_PICO", "RPI_PICO_W")


def _json(path):
    with open(path) as f:
        return json.load(f)


def _mcus():
    return _json(ROOT + "/boards/mcus.json")


def _pin_numbers(info):
    pins = info["pins"]
    out = [("led", pins["led"]["pin"]), ("i2c sda", pins["i2c"]["sda"]), ("i2c scl", pins["i2c"]["scl"]),
           ("button", pins["button"]["pin"])]
    return out + [("adc", p) for p in pins["adc"]]


def _problems(name, info, mcus):
    """Everything wrong with one board file, as sentences."""
    bad = []
    for field in ("id", "name", "machine", "mcu", "pins", "heap_budget_kb", "network", "firmware", "flash", "mpy"):
        if field not in info:
            bad.append("missing field %r" % field)
    if bad:
        return bad
    if info["id"] != name:
        bad.append("id %r differs from its folder %r" % (info["id"], name))
    mcu = mcus.get(info["mcu"])
    if mcu is None:
        return bad + ["mcu %r is not in boards/mcus.json" % info["mcu"]]
    pins = info["pins"]
    for field in ("led", "i2c", "adc", "button"):
        if field not in pins:
            bad.append("pins: missing %r" % field)
    if bad:
        return bad
    named = info.get("named_pins", {})
    reserved = info.get("reserved", [])
    for role, p in _pin_numbers(info):
        if isinstance(p, str):
            if p not in named:
                bad.append("%s: named pin %r is not in named_pins" % (role, p))
        elif p not in mcu["gpio"]:
            bad.append("%s: GPIO %d does not exist on %s" % (role, p, info["mcu"]))
        elif p in reserved:
            bad.append("%s: GPIO %d is reserved on this board" % (role, p))
    led = pins["led"]["pin"]
    if led in mcu["input_only"]:
        bad.append("led: GPIO %d is input-only" % led)
    btn = pins["button"]
    if btn.get("pull") in ("up", "down") and btn["pin"] in mcu["no_pull"]:
        bad.append("button: GPIO %d has no internal pull resistor" % btn["pin"])
    for p in pins["adc"]:
        unit = mcu["adc"].get(str(p))
        if unit is None:
            bad.append("adc: GPIO %d is not ADC-capable on %s" % (p, info["mcu"]))
        elif info["network"] == "wifi" and mcu["adc2_blocked_by_wifi"] and unit.startswith("ADC2"):
            bad.append("adc: GPIO %d is on ADC2, which Wi-Fi blocks" % p)
    i2c = pins["i2c"]
    for line in ("sda", "scl"):
        p = i2c[line]
        if p in mcu["input_only"]:
            bad.append("i2c %s: GPIO %d is input-only" % (line, p))
        if mcu["i2c"] != "any":
            allowed = mcu["i2c"].get(str(i2c["id"]))
            if allowed is None:
                bad.append("i2c: no I2C block %s on %s" % (i2c["id"], info["mcu"]))
            elif p not in allowed[line]:
                bad.append("i2c %s: GPIO %d cannot be I2C%s %s" % (line, p, i2c["id"], line.upper()))
    if not (isinstance(info["heap_budget_kb"], int) and 32 <= info["heap_budget_kb"] <= 512):
        bad.append("heap_budget_kb %r is not a plausible size" % info["heap_budget_kb"])
    if info["network"] not in ("wifi", "none"):
        bad.append("network must be 'wifi' or 'none'")
    fw = info["firmware"]
    flash = info["flash"]
    ext = {"uf2": "uf2", "esptool": "bin"}.get(flash.get("method"))
    if ext is None:
        bad.append("flash method %r is not 'uf2' or 'esptool'" % flash.get("method"))
    else:
        want = "%s-" % name
        f = fw.get("file", "")
        date = f[len(want):len(want) + 8]
        if not (f.startswith(want) and date.isdigit() and f[len(want) + 8:] == "-v%s.%s" % (fw.get("version"), ext)):
            bad.append("firmware file %r is not %s<YYYYMMDD>-v%s.%s" % (f, want, fw.get("version"), ext))
        if fw.get("url") and not fw["url"].endswith("/" + f):
            bad.append("firmware url does not end with its file name")
    sha = fw.get("sha256", 0)
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        bad.append("firmware sha256 must be null (not pinned yet) or 64 lowercase hex digits")
    if flash.get("method") == "esptool":
        if "chip" not in flash or "offset" not in flash:
            bad.append("esptool flashing needs chip and offset")
        elif mcu["platform"] != "esp32":
            bad.append("esptool flashing on a non-ESP32 board")
        else:
            want = {"ESP32": ("esp32", 0x1000), "ESP32-S3": ("esp32s3", 0x0)}[info["mcu"]]
            if (flash["chip"], int(flash["offset"], 16)) != want:
                bad.append("esptool chip/offset %s/%s, expected %s/0x%x"
                           % (flash["chip"], flash["offset"], want[0], want[1]))
    if flash.get("method") == "uf2" and info["mcu"] != "RP2040":
        bad.append("UF2 copy is the RP2040's flashing method")
    if info["mpy"].get("version") != "6.3":
        bad.append("mpy version %r, expected '6.3'" % info["mpy"].get("version"))
    if not info["machine"].endswith(" with " + info["mcu"].replace("-", "")):
        bad.append("machine %r is not sys.implementation._machine of a %s board" % (info["machine"], info["mcu"]))
    return bad


def test_every_board_folder_has_a_valid_board_file():
    mcus = _mcus()
    found = sorted(n for n in os.listdir(ROOT + "/boards") if "." not in n)  # folders; not mcus.json, README.md
    assert tuple(found) == BOARDS, found
    for name in found:
        problems = _problems(name, _json(board.board_file(name)), mcus)
        assert not problems, "%s: %s" % (name, "; ".join(problems))


def test_the_validator_catches_bad_pins():
    mcus = _mcus()
    info = _json(board.board_file("ESP32_GENERIC"))
    info["pins"]["led"]["pin"] = 34  # input-only
    info["pins"]["adc"] = [26, 20]  # ADC2 with Wi-Fi on; 20 does not exist
    info["pins"]["button"]["pin"] = 36  # no pull-up
    info["firmware"]["sha256"] = "abc"
    problems = " | ".join(_problems("ESP32_GENERIC", info, mcus))
    for needle in ("led: GPIO 34 is input-only", "GPIO 26 is on ADC2", "adc: GPIO 20 does not exist",
                   "button: GPIO 36 has no internal pull", "sha256"):
        assert needle in problems, needle
    pico = _json(board.board_file("RPI_PICO"))
    pico["pins"]["i2c"]["sda"] = 5
    assert "i2c sda: GPIO 5 cannot be I2C0 SDA" in " | ".join(_problems("RPI_PICO", pico, mcus))


def test_loader_facts_agree_with_the_mcu_table():
    mcus = _mcus()
    for mcu, (platform, hard, temp) in board._MCU.items():  # rill.boardhelp's, through rill.board
        assert mcus[mcu]["platform"] == platform, mcu
        assert mcus[mcu]["pin_irq_hard"] == hard, mcu
        assert mcus[mcu]["temp_sensor"]["kind"] == temp, mcu


def test_load_simulates_on_the_host_and_reports_capabilities():
    for name in BOARDS:
        b = board.load(name)
        assert b.sim is not None and b.name == name
        assert b.has("i2c") and b.has("adc") and b.has("button") and b.has("mcu_temp")
        assert b.has("network") == (name != "RPI_PICO")
        assert b.has("teleport") is False
        assert b.i2c() is b.i2c()  # one shared bus
        assert b.i2c().scan() == [0x44, 0x76]
    assert board.load("RPI_PICO").heap_budget == 190 * 1024
    assert board.available() == list(BOARDS)


def test_real_hardware_is_refused_off_the_board_with_a_clear_message():
    with raises(board.BoardError, match="needs MicroPython on rp2 for real hardware"):
        board.load("RPI_PICO", sim=False)
    with raises(board.BoardError, match="no board file"):
        board.load("NOT_A_BOARD")
    with raises(board.BoardError, match="pass an id to load()"):
        board.load()  # the host is no board: nothing to detect


def test_require_network_fails_clearly_without_wifi():
    pico = board.load("RPI_PICO")
    msg = "board RPI_PICO (Raspberry Pi Pico) has no network: MQTT sink 'cloud' needs it"
    with raises(board.BoardError, match=msg) as r:
        pico.require("network", "MQTT sink 'cloud'")
    assert "RPI_PICO_W" in str(r.value)
    board.load("RPI_PICO_W").require("network", "MQTT sink 'cloud'")


def test_build_rejects_a_network_sink_on_a_board_without_networking():
    class MqttSink:  # what the MQTT sink declares
        requires = "network"

        def __call__(self, value):
            pass

    p = Pipeline("demo")
    p.record("t", float)
    p.source("t")
    p.tap("t", MqttSink(), name="mqtt")
    with raises(GraphError, match="tap mqtt: needs network, which board RPI_PICO does not have"):
        p.build(board=board.load("RPI_PICO"))
    p.build(board=board.load("ESP32_GENERIC"))


def test_led_is_an_output_except_where_it_is_addressable():
    b = board.load("RPI_PICO")
    led = b.led()
    led.on()
    assert b.sim.pin(25).value() == 1
    with raises(board.BoardError, match="ws2812"):
        board.load("ESP32_GENERIC_S3").led()


def test_a_board_file_completed_as_a_deploy_stages_it_makes_the_same_board():
    for name in BOARDS:
        done = board.complete(_json(board.board_file(name)))
        assert sorted(done) == sorted(board.DEVICE_FIELDS + ("platform", "pin_irq_hard", "temp_sensor"))
        a, b = board.load(name), board.Board(done)  # from the repository's file; from the device's
        for attr in ("name", "title", "mcu", "pins", "network", "heap_budget", "platform", "hard_irq", "_temp"):
            assert getattr(a, attr) == getattr(b, attr), (name, attr)
        assert b.sim is None and repr(b) == "<Board %s (%s, real)>" % (name, b.mcu)
    with raises(board.BoardError, match="board X: unknown mcu 'Z80' (known: ESP32, ESP32-S3, RP2040)"):
        board.complete({"id": "X", "mcu": "Z80"})


def test_bad_input_says_what_is_wrong_in_one_sentence():
    pico = board.load("RPI_PICO")
    with raises(board.BoardError, match="GPIO 5 is not an ADC input on RPI_PICO; its ADC inputs are 26, 27, 28"):
        pico.adc(5)
    msg = ("board RPI_PICO (Raspberry Pi Pico) has no teleport: beam() needs it")
    with raises(board.BoardError, match=msg):
        pico.require("teleport", "beam()")
    with raises(board.BoardError, match="the LED of ESP32_GENERIC_S3 is a ws2812 on pin 48, not a plain output"):
        board.load("ESP32_GENERIC_S3").led()
    assert "board.json" in board.board_file("RPI_PICO") and "RPI_PICO" in board.available()
