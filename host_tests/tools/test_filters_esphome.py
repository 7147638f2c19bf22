"""tools/rill_host/esphome.py: an ESPHome sensor's filters: list becomes rill chain data that
builds the same filters; what cannot be converted is reported by name."""
import json

from rill.filters import calibrate_linear, chain, clamp, delta, filter_out, median, offset, round
from tooltest import tool

YAML = """
esphome:
  name: greenhouse
sensor:
  - platform: dht
    temperature:
      name: "Greenhouse Temperature"
      id: gh_temp
      filters:
        - offset: 2.0
        - filter_out: nan
        - calibrate_linear:
            method: exact
            datapoints:
              - 0.0 -> 1.0
              - 10.0 -> 12.1
        - lambda: return x * (9.0/5.0) + 32.0;
        - median:
            window_size: 3
            send_every: 1
        - clamp:
            max_value: 30
        - delta: 10%
        - round: 1
        - or:
            - throttle: 1min
            - heartbeat:
                period: 30s
                optimistic: true
        - timeout:
            timeout: 10s
            value: !lambda return 0;
        - to_ntc_temperature:
            calibration:
              - 10.0kOhm -> 25°C
              - 27.219kOhm -> 0°C
              - 14.674kOhm -> 15°C
        - sparkle: 3
    humidity:
      name: "Greenhouse Humidity"
      filters:
        - debounce: 500ms
"""


def convert(tmp_path, *args):
    path = tmp_path / "device.yaml"
    path.write_text(YAML, encoding="utf-8")
    return tool("esphome_filters.py", str(path), *args)


def test_converts_a_sensor_and_reports_what_it_cannot_by_name(tmp_path):
    r = convert(tmp_path, "--sensor", "gh_temp")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data[:2] == [{"offset": 2.0}, {"filter_out": "nan"}]
    assert {"or": [{"throttle": 60000}, {"heartbeat": {"ms": 30000, "optimistic": True}}]} in data
    assert {"to_ntc_temperature": {"calibration": [[10000.0, 25.0], [27219.0, 0.0], [14674.0, 15.0]]}} in data
    lines = r.stderr.strip().splitlines()
    assert [line.split(":")[1].split()[-1] for line in lines] == ["lambda", "timeout", "sparkle"]
    assert "Traceback" not in r.stderr


def test_the_json_builds_the_same_chain_as_the_python_api(tmp_path):
    data = json.loads(convert(tmp_path, "--sensor", "Greenhouse Temperature").stdout)
    from_yaml = chain([f for f in data if not ({"or", "to_ntc_temperature"} & set(f))])
    exact = calibrate_linear([(0.0, 1.0), (10.0, 12.1)], method="exact")
    by_hand = chain([offset(2.0), filter_out(float("nan")), exact, median(3, 1), clamp(max_value=30), delta("10%"),
                     round(1)])
    values = [20.0, 21.0, float("nan"), 26.5, 27.0, 40.0, 3.0, 2.5]
    assert [from_yaml(v) for v in values] == [by_hand(v) for v in values]


def test_one_sensor_needs_no_name_but_several_do(tmp_path):
    r = convert(tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "several sensors have filters (gh_temp, Greenhouse Humidity)" in r.stderr
    r = convert(tmp_path, "--sensor", "Greenhouse Humidity")
    assert r.returncode == 0 and json.loads(r.stdout) == [{"debounce": 500}]


def test_bad_arguments_get_one_sentence(tmp_path):
    for args in (["--bogus"], ["--sensor", "nobody"], []):
        r = convert(tmp_path, *args) if args else tool("esphome_filters.py", str(tmp_path / "missing.yaml"))
        assert r.returncode != 0
        assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("rill esphome: error: ")
