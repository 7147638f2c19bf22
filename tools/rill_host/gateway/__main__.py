"""``rill gateway``: run a gateway until SIGTERM/SIGINT (or ``--seconds``)."""
import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import signal
import sqlite3
import sys

from . import core

try:
    from psycopg import Error as _PgError
except ImportError:  # no PostgreSQL driver: only SQLite stores
    _PgError = sqlite3.Error


def load_app(name):
    """An app module by import name, or by the path of a .py file."""
    if name.endswith(".py") or os.sep in name:
        if not os.path.isfile(name):
            raise SystemExit("rill gateway: no app file %s" % name)
        spec = importlib.util.spec_from_file_location(os.path.basename(name)[:-3], name)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            mod = importlib.import_module(name)
        except ImportError as e:
            raise SystemExit("rill gateway: cannot import app %s: %s" % (name, e))
    missing = [a for a in ("INPUTS", "OUTPUTS", "pipeline") if not hasattr(mod, a)]
    if missing:
        raise SystemExit("rill gateway: app %s has no %s (see rill_host/gateway/core.py)" % (name, ", ".join(missing)))
    return mod


def parse(argv):
    a = argparse.ArgumentParser(prog="rill gateway", description=core.__doc__.split("\n\n")[0])
    a.add_argument("--app", help="app module (import name or .py path): INPUTS, OUTPUTS, pipeline(p); "
                   "'demo' is the fleet's; none stores values as they came")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--port", type=int, default=1883)
    a.add_argument("--filter", default="fleet/+/+", help="topic filter (last level = input record)")
    a.add_argument("--group", help="share the subscription: $share/GROUP/FILTER")
    a.add_argument("--db", default="gateway.sqlite", help="the store: a SQLite file (instances on one host "
                   "may share it) or a postgresql://... URL (any number of instances, anywhere)")
    a.add_argument("--instance", help="client id and name (default gw-PID)")
    a.add_argument("--metrics", help="write stats() as JSON here every scan")
    a.add_argument("--grace", type=float, default=2.0, help="seconds before a hole counts as a gap")
    a.add_argument("--persistent", action="store_true",
                   help="keep the broker session (clean session off): restart under the same --instance")
    a.add_argument("--status", default="devices/+/status",
                   help="births and goodbyes (<prefix>/<dev>/status): where each boot began and ended; '' for none")
    a.add_argument("--seconds", type=float, help="stop after this long")
    return a.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    app = None
    if args.app == "demo":
        from . import demo_app as app
    elif args.app:
        app = load_app(args.app)
    try:
        gw = core.Gateway(app, args.host, args.port, args.filter, args.db, args.group, args.instance,
                          grace_s=args.grace, metrics=args.metrics, persistent=args.persistent,
                          status=args.status or None)
    except (OSError, sqlite3.Error, _PgError) as e:
        raise SystemExit("rill gateway: cannot open the store %s: %s" % (args.db, e))

    async def go():
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, gw.stop)
        if args.seconds:
            loop.call_later(args.seconds, gw.stop)
        await gw.run()

    try:
        asyncio.run(go())
    except (OSError, sqlite3.Error, _PgError) as e:
        raise SystemExit("rill gateway: broker %s:%d or store %s: %s" % (args.host, args.port, args.db, e))
    print(json.dumps(gw.counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
