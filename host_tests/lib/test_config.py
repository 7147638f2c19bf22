"""config.json is read strictly and checked against rill's keys, the same on every runtime
(rill.config): a trailing comma is an error on CPython and on MicroPython alike, and every
error names the file, the line and the key."""
import os

from rill import config
from testkit import raises

GOOD = (b'{\n  "board": "RPI_PICO_W",\n  "device": "gh-1",\n  "every_ms": 700,\n'
        b'  "mqtt": {"host": "127.0.0.1", "port": 1883}\n}\n')


def _error(text, name="config.json"):
    with raises(ValueError) as e:
        config.parse(text, name)
    return str(e.value)


def test_a_good_config_loads_with_the_apps_own_keys():
    cfg = config.parse(GOOD)
    assert cfg == {"board": "RPI_PICO_W", "device": "gh-1", "every_ms": 700,
                   "mqtt": {"host": "127.0.0.1", "port": 1883}}


def test_a_trailing_comma_is_an_error_naming_file_line_and_key():
    text = b'{\n  "board": "RPI_PICO_W",\n  "mqtt": {\n    "host": "127.0.0.1",\n    "port": 1883,\n  }\n}\n'
    msg = _error(text, "greenhouse/config.json")
    assert msg.startswith('greenhouse/config.json line 6 (key "mqtt.port"): not strict JSON'), msg


def test_a_trailing_comma_at_the_top_and_a_missing_comma():
    msg = _error(b'{"board": "RPI_PICO_W",}')
    assert msg.startswith('config.json line 1 (key "board"): not strict JSON'), msg
    msg = _error(b'{"board": "RPI_PICO_W"\n "device": "x"}')
    assert msg.startswith('config.json line 2 (key "board"): not strict JSON'), msg


def test_a_key_of_the_wrong_type_is_named_with_its_line():
    msg = _error(b'{"board": "RPI_PICO_W",\n "mqtt": {"host": "h",\n  "port": "1883"}}')
    assert msg == 'config.json line 3 (key "mqtt.port"): must be an integer, not a string', msg
    msg = _error(b'{"mqtt": {"port": true}}')
    assert msg == 'config.json line 1 (key "mqtt.port"): must be an integer, not true or false', msg
    msg = _error(b'{"mqtt": {"port": 70000}}')
    assert msg == 'config.json line 1 (key "mqtt.port"): must be a port number, 1 to 65535', msg
    msg = _error(b'{"wifi": {"ssid": 5}}')
    assert msg == 'config.json line 1 (key "wifi.ssid"): must be a string, not an integer', msg
    msg = _error(b'[1, 2]')
    assert msg == "config.json line 1: must be a JSON object ({...}), not a list", msg


def test_load_reads_the_file_and_load_once_unloads_the_checker():
    import sys

    path = "/tmp/rill-config-%d.json" % id(GOOD)
    with open(path, "wb") as f:
        f.write(b'{"board": "RPI_PICO",}')
    try:
        with raises(ValueError, match=path + " line 1"):
            config.load(path)
        with open(path, "wb") as f:
            f.write(GOOD)
        assert config.load_once(path)["device"] == "gh-1"
        assert "rill.config" not in sys.modules
    finally:
        os.remove(path)


def config_example(run, code):
    """docs/config.md's example (test_examples.py runs it on every runtime)."""
    scope = run()
    assert scope["cfg"]["mqtt"] == {"host": "10.0.0.2"}
    assert scope["error"] == 'config.json line 4 (key "every_ms"): not strict JSON: key at 46', scope["error"]
