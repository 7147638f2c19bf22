#!/usr/bin/env python3
"""``rill trace CAPTURE WHAT [--app DIR]``: the source records behind a value.

WHAT is either
- a published message, the JSON envelope sent by a graph built with ``lineage=True``
  (``{"dev":..,"seq":..,"v":..,"o":{"raw":[41,45]}}``, as ``mosquitto_sub`` prints it), or
- ``KEY#N`` (needs ``--app``): the N-th value written to record KEY when the capture is
  replayed through the app (the N-th line of KEY in ``rill replay``'s output), replayed
  here with lineage on.

It prints the value, the path from its record back to the sources (with ``--app``), and
every source record of its origin, from the capture: its number, time and value. Record
number n of a source is the n-th record of its key in the capture (rill.lineage counts
a record's writes from 1, and a capture starts with the graph).
"""
import asyncio
import json

from rill_host.common import CliError, Parser, cli
from rill_host.evidence import host_app


def parse_what(what):
    """("message", envelope dict) or ("record", key, n)."""
    if what.lstrip().startswith("{"):
        try:
            msg = json.loads(what)
        except ValueError as e:
            raise CliError("the message is not JSON: %s" % e)
        if not isinstance(msg, dict) or not isinstance(msg.get("o"), dict):
            raise CliError("the message has no origin (\"o\"): publish it from a graph built with lineage=True")
        return ("message", msg)
    key, sep, n = what.rpartition("#")
    if not sep or not key or not n.isdigit() or int(n) < 1:
        raise CliError("%r is neither a JSON message nor KEY#N (a record and its write number, from 1)" % what)
    return ("record", key, int(n))


def path(nodes, key, depth=0, seen=None):
    """Lines from record ``key`` back to its sources, through the transforms that write it."""
    seen = set() if seen is None else seen
    lines = []
    for n in nodes:
        if n.out != key:
            continue
        if n.kind == "source":
            lines.append("%s%s <- source %s" % ("  " * depth, key, n.name))
        else:
            lines.append("%s%s <- %s(%s)" % ("  " * depth, key, n.name, ", ".join(n.inputs + n.watch)))
            for k in n.inputs + n.watch:
                if k not in seen:
                    seen.add(k)
                    lines += path(nodes, k, depth + 1, seen)
    return lines


def source_records(records, origin):
    """Lines for each source record named by ``origin`` ({key: [first, last]})."""
    count = {}
    found = {}
    for rec in records:
        if isinstance(rec, list) and len(rec) == 3:
            t, key, value = rec
            count[key] = n = count.get(key, 0) + 1
            span = origin.get(key)
            if span and span[0] <= n <= span[1]:
                found.setdefault(key, []).append((n, t, value))
    lines = []
    for key, (lo, hi) in sorted(origin.items()):
        got = found.get(key, [])
        plural = "" if len(got) == 1 else "s"
        lines.append("%s #%d..#%d (%d record%s in the capture):" % (key, lo, hi, len(got), plural))
        for n, t, value in got:
            lines.append("  #%d  t=%d ms  %s" % (n, t, json.dumps(value)))
        if len(got) < hi - lo + 1:
            lines.append("  (%d not in the capture: it started later, or ended sooner)" % (hi - lo + 1 - len(got)))
    return lines


def replayed_origin(app_dir, board_id, records, key, n):
    """Replay ``records`` through the app with lineage on: (value, origin, nodes) of the
    ``n``-th write of record ``key``."""
    from rill.clock import VirtualClock
    from rill.io.replay import replay

    clock = VirtualClock()
    app, bd, cfg = host_app.load(app_dir, board_id, clock)
    p = app.pipeline(bd, cfg)
    if key not in p.records:
        raise CliError("the app has no record %r (it has: %s)" % (key, ", ".join(p.keys)))
    got = []

    def tap(v):
        if len(got) < n:
            got.append((v, g.lineage.current()))

    p.tap(key, tap, name="trace")
    try:
        g = p.build(lineage=True)
    except Exception as e:
        raise CliError("the app's pipeline does not build: %s" % e)
    asyncio.run(replay(g, records, clock))
    if len(got) < n:
        raise CliError("record %r was written %d time(s) in the replay, not %d" % (key, len(got), n))
    return got[n - 1][0], got[n - 1][1], p.nodes


def main(argv):
    p = Parser(prog="rill trace", description="The source records behind a value.")
    p.add_argument("capture", help="the capture (rill.io.recorder) of the run")
    p.add_argument("what", help="a published JSON message with \"o\", or KEY#N (with --app)")
    p.add_argument("--app", help="the app's folder, for KEY#N: replayed, with the path through its transforms")
    p.add_argument("--board", help="board id (default: the config's board)")
    p.add_argument("--salvage", action="store_true",
                   help="use a damaged or cut-short capture up to its first damaged line (the header must be whole)")
    args = p.parse_args(argv)
    what = parse_what(args.what)
    records = host_app.capture_records(args.capture, args.salvage, "rill trace")
    if what[0] == "message":
        msg = what[1]
        origin = msg["o"]
        print("message dev=%s seq=%s v=%s" % (msg.get("dev"), msg.get("seq"), json.dumps(msg.get("v"))))
    else:
        if not args.app:
            raise CliError("KEY#N needs --app: the capture is replayed through the app")
        _, key, n = what
        value, origin, nodes = replayed_origin(args.app, args.board, records, key, n)
        print("%s #%d = %s" % (key, n, json.dumps(value)))
        for line in path(nodes, key):
            print("  " + line)
    for line in source_records(records, origin):
        print(line)
    return 0


if __name__ == "__main__":
    cli(main, "rill trace")
