#!/usr/bin/env python3
"""``rill replay CAPTURE --app DIR``: run an app's pipeline on the host in virtual time,
fed by a capture (rill.io.recorder) in place of its sources, and print what every
transform wrote as JSON lines ``[t, key, value]`` (rill.io.replay.transcript).

The app is a ``rill new`` project: ``app.py`` with ``pipeline(board, cfg)``, and its
``config.json``. Its board is simulated; its sources do not run. When it has
``bridge(cfg)`` (the template's), the bridge is attached but never connects: what its
links would publish is printed where it happens, ``[t, "publish", topic, payload]``,
numbered as the capture's header says the original run's were.
When the capture's build identity (rill.identity, in its header) is not this code's
(tools/rill_host/build/identity.py: lib, the app's modules, its config), one warning line goes
to stderr and the replay goes on. Every line of the capture is checked first
(rill.io.checked): the first damaged one stops it, in one sentence naming the file, the
line and what is wrong (exit 1); ``--salvage`` replays the records before it and says
how much of the capture that was (a damaged header is never salvaged).
"""
import os
import sys

from rill_host.common import CliError, Parser, cli
from rill_host.evidence import host_app


def running_identity(app_dir):
    """The replayed code's identity: the same hashes a deploy of ``app_dir`` ships."""
    from rill_host.build import identity as build_identity
    from rill_host.deploy.plan import App

    app = App(app_dir)
    return build_identity.identity(app.modules, app.config)


def app_bridge(app, cfg):
    """The app's bridge, made in a folder of its own: its sequence store stays out of
    the app (the replay numbers from the capture's header)."""
    import tempfile

    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            return app.bridge(cfg)
        except Exception as e:
            raise CliError("the app's bridge(cfg): %s: %s" % (type(e).__name__, e))
        finally:
            os.chdir(home)


def main(argv):
    p = Parser(prog="rill replay", description="Replay a capture through an app's pipeline.")
    p.add_argument("capture", help="the path the capture's FileSink was given (its segments CAPTURE.N are read)")
    p.add_argument("--app", required=True, help="the app's folder (app.py with pipeline(board, cfg), config.json)")
    p.add_argument("--board", help="board id (default: the config's board)")
    p.add_argument("--out", help="write the JSON lines here instead of stdout")
    p.add_argument("--salvage", action="store_true",
                   help="replay a damaged or cut-short capture up to its first damaged line (the header must be whole)")
    args = p.parse_args(argv)
    app_dir = os.path.abspath(args.app)
    from rill.clock import VirtualClock
    from rill.io.replay import transcript

    clock = VirtualClock()
    app, bd, cfg = host_app.load(app_dir, args.board, clock)
    records = host_app.capture_records(args.capture, args.salvage)
    p = app.pipeline(bd, cfg)
    bridges = [app_bridge(app, cfg).attach(p)] if hasattr(app, "bridge") else []
    lines = transcript(p, records, clock, running_identity(app_dir), bridges)
    try:
        out = open(args.out, "w") if args.out else sys.stdout
    except OSError as e:
        raise CliError("cannot write %s: %s" % (args.out, e.strerror or e))
    for line in lines:
        out.write(line + "\n")
    if args.out:
        out.close()
    return 0


if __name__ == "__main__":
    cli(main, "rill replay")
