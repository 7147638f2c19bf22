#!/usr/bin/env python3
"""Convert an ESPHome sensor's ``filters:`` list into rill chain data (JSON).

    rill esphome device.yaml [--sensor NAME_OR_ID] [--out FILE]

Prints the JSON list that ``rill.filters.chain(json.loads(...))`` builds, for instance
for a board's config.json. The file may be a whole ESPHome configuration (the sensor is
found by name or id; ``--sensor`` picks one when several have filters) or just a filter
list. Times become milliseconds ("1min" -> 60000), datapoints ``"10kOhm -> 25°C"``
become ``[10000.0, 25.0]``, NaN becomes "nan". A filter that cannot be converted
(``lambda`` and any ``!lambda`` parameter are C++ code) is reported by name on stderr,
one line each, and the exit status is then 1; the JSON still lists the others.
"""
import json
import re
import sys

from rill_host.common import CliError, Parser, cli

TIME_UNITS = {"us": 0.001, "ms": 1, "s": 1000, "sec": 1000, "min": 60000, "h": 3600000, "d": 86400000}
SI = {"k": 1e3, "M": 1e6, "m": 1e-3}
WINDOWED = ("sliding_window_moving_average", "exponential_moving_average", "median", "quantile", "min", "max")
SCALAR = ("multiply", "offset", "round", "round_to_multiple_of", "round_to_significant_digits", "skip_initial")
TIMED = ("throttle", "throttle_average", "debounce")


class Unconvertible(Exception):
    """A filter (named by the first argument) that rill cannot take from YAML."""


class Tagged:
    """An ESPHome YAML tag such as ``!lambda`` or ``!secret``: kept, never run."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value


def load_yaml(path):
    try:
        import yaml
    except ImportError:
        raise CliError("PyYAML is not installed; run 'make setup'")

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
        return Tagged("!" + suffix, value)

    Loader.add_multi_constructor("!", tagged)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=Loader)
    except OSError as e:
        raise CliError("cannot read %s: %s" % (path, e.strerror or e))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark else ""
        raise CliError("%s is not valid YAML%s" % (path, where))


def sensors_with_filters(doc, found):
    """Every mapping below ``doc`` that has a ``filters`` list, as (label, filters)."""
    if isinstance(doc, dict):
        if isinstance(doc.get("filters"), list):
            found.append((doc.get("id") or doc.get("name") or "?", doc.get("name"), doc["filters"]))
        for v in doc.values():
            sensors_with_filters(v, found)
    elif isinstance(doc, list):
        for v in doc:
            sensors_with_filters(v, found)
    return found


def pick(doc, wanted):
    if isinstance(doc, list) and all(isinstance(f, (dict, str)) for f in doc) and not sensors_with_filters(doc, []):
        return doc  # a bare filter list
    found = sensors_with_filters(doc, [])
    if wanted is not None:
        found = [s for s in found if wanted in (s[0], s[1])]
        if not found:
            raise CliError("no sensor named or with id %r has filters" % wanted)
    if not found:
        raise CliError("no sensor in the file has a filters: list")
    if len(found) > 1:
        raise CliError("several sensors have filters (%s); pick one with --sensor"
                       % ", ".join(str(s[0]) for s in found))
    return found[0][2]


def number(value, name, units=()):
    """A float from 2, "2.5", "10kOhm", "25°C" (the unit is checked, then dropped)."""
    if isinstance(value, Tagged):
        raise Unconvertible(name, "%s is %s code" % (name, value.tag))
    if isinstance(value, bool):
        raise Unconvertible(name, "%r is not a number" % (value,))
    if isinstance(value, (int, float)):
        return value if value == value else "nan"
    text = str(value).strip()
    if text.lower() == "nan":
        return "nan"
    m = re.match(r"^([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)\s*([kMm]?)\s*(.*)$", text)
    if not m or (m.group(3) and m.group(3) not in units) or (m.group(2) and not m.group(3)):
        raise Unconvertible(name, "%r is not a number rill understands" % (text,))
    return float(m.group(1)) * SI.get(m.group(2), 1)


def millis(value, name):
    """A time period in ms: "500ms", "1s", "2min", "1h"; ESPHome refuses a bare number."""
    if isinstance(value, Tagged):
        raise Unconvertible(name, "%s is %s code" % (name, value.tag))
    m = re.match(r"^([0-9.]+)\s*(us|ms|s|sec|min|h|d)$", str(value).strip())
    if not m:
        raise Unconvertible(name, "%r is not a time period such as 500ms, 1s or 2min" % (value,))
    ms = float(m.group(1)) * TIME_UNITS[m.group(2)]
    return int(ms) if ms == int(ms) else ms


def datapoints(points, name, units=()):
    out = []
    for p in points or ():
        if isinstance(p, str) and "->" in p:
            a, b = p.split("->", 1)
            out.append([number(a, name, units), number(b, name, units)])
        else:
            raise Unconvertible(name, "datapoint %r is not 'MEASURED -> TRUTH'" % (p,))
    return out


def plain(params, name):
    """A dict of plain parameters; a !lambda (or any tag) in it cannot be converted."""
    for k, v in params.items():
        if isinstance(v, Tagged):
            raise Unconvertible(name, "%s is %s code" % (k, v.tag))
    return dict(params)


def timed(params, name, key):
    """heartbeat / timeout / throttle_with_priority: a period, or a dict with ``key`` and more."""
    if not isinstance(params, dict):
        return millis(params, name)
    out = plain(params, name)
    out["ms"] = millis(out.pop(key), name)
    if "value" in out:
        v = out["value"]
        out["value"] = [number(x, name) for x in v] if isinstance(v, list) else (
            v if v == "last" else number(v, name))
    return out


def ntc(params, name):
    cal = params.get("calibration") if isinstance(params, dict) else None
    if isinstance(cal, list):
        return {"calibration": datapoints(cal, name, ("Ohm", "Ω", "°C", "C"))}
    if isinstance(cal, dict):
        units = ("Ohm", "Ω", "°C", "C")
        return {"calibration": {k: number(v, name, units) for k, v in cal.items()}}
    raise Unconvertible(name, "calibration must be datapoints or coefficients")


def convert_one(name, params):
    if name == "lambda":
        raise Unconvertible(name, "its C++ code cannot run on MicroPython; write it as a Python function")
    if name in TIMED:
        return millis(params, name)
    if name in ("heartbeat",):
        return timed(params, name, "period")
    if name in ("timeout", "throttle_with_priority"):
        return timed(params, name, "timeout")
    if name in SCALAR:
        return number(params, name)
    if name in WINDOWED:
        return None if params is None else plain(params, name)
    if name == "clamp":
        return plain(params, name)
    if name == "delta":
        if isinstance(params, dict):
            return plain(params, name)
        return params if isinstance(params, str) and params.strip().endswith("%") else number(params, name)
    if name == "filter_out":
        return [number(v, name) for v in params] if isinstance(params, list) else number(params, name)
    if name == "calibrate_linear":
        if isinstance(params, list):
            return datapoints(params, name)
        out = plain(params, name)
        out["datapoints"] = datapoints(out.get("datapoints"), name)
        return out
    if name == "calibrate_polynomial":
        out = plain(params, name)
        out["datapoints"] = datapoints(out.get("datapoints"), name)
        return out
    if name in ("to_ntc_resistance", "to_ntc_temperature"):
        return ntc(params, name)
    if name == "or":
        done, failed = convert(params if isinstance(params, list) else [])
        if failed:
            raise Unconvertible(name, "it holds %s" % ", ".join(n for n, _ in failed))
        return done
    raise Unconvertible(name, "it is not an ESPHome sensor filter rill knows")


def convert(filters):
    """(chain data, [(name, reason)]) for an ESPHome ``filters:`` list."""
    done, failed = [], []
    for item in filters:
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            failed.append(("?", "an entry is not a single filter: %r" % (item,)))
            continue
        (name, params), = item.items()
        try:
            done.append({name: convert_one(name, params)})
        except Unconvertible as e:
            failed.append((e.args[0], e.args[1]))
    return done, failed


def main(argv):
    p = Parser(prog="rill esphome", description=__doc__.split("\n\n")[0])
    p.add_argument("yaml", help="an ESPHome configuration, or a filter list")
    p.add_argument("--sensor", help="the sensor's name or id, when several have filters")
    p.add_argument("--out", help="write the JSON here instead of stdout")
    args = p.parse_args(argv)
    done, failed = convert(pick(load_yaml(args.yaml), args.sensor))
    text = json.dumps(done)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    for name, why in failed:
        sys.stderr.write("esphome_filters.py: cannot convert %s: %s\n" % (name, why))
    return 1 if failed else 0


if __name__ == "__main__":
    cli(main, "rill esphome")
