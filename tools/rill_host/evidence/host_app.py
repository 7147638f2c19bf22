"""A ``rill new`` project's app, loaded on the host with its board simulated: what
``rill replay`` and ``rill trace`` run. The app is ``app.py`` with ``pipeline(board,
cfg)`` beside its ``config.json``."""
import json
import os
import sys

from rill_host.common import CliError


def load(app_dir, board_id=None, clock=None):
    """(app module, simulated board on ``clock``, config) for the app in ``app_dir``:
    ``app.pipeline(board, cfg)`` is its pipeline. CliError in one sentence for what is
    missing."""
    app_dir = os.path.abspath(app_dir)
    if not os.path.exists(os.path.join(app_dir, "app.py")):
        raise CliError("no app.py in %s" % app_dir)
    cfg = {}
    if os.path.exists(os.path.join(app_dir, "config.json")):
        try:
            with open(os.path.join(app_dir, "config.json")) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise CliError("config.json of %s: %s" % (app_dir, e))
    board_id = board_id or cfg.get("board")
    if not board_id:
        raise CliError("no board: give --board or a config.json with \"board\"")
    sys.path.insert(0, app_dir)
    try:
        import app
    except Exception as e:
        raise CliError("cannot import the app in %s: %s: %s" % (app_dir, type(e).__name__, e))
    from rill import board

    try:
        bd = board.load(board_id, sim=True, clock=clock)
    except Exception as e:
        raise CliError("board %s: %s" % (board_id, e))
    return app, bd, cfg


def capture_records(path, salvage=False, prog="rill replay"):
    """The records of the capture at ``path``, every line checked (rill.io.checked).
    The first damaged line is a CliError naming the file, the line and what is wrong;
    with ``salvage``, the records before it are returned and one line on stderr says
    how much of the capture they are. A damaged header is never salvaged: it holds the
    build identity a replay checks."""
    from rill.io import frame
    from rill.io.checked import Checked

    try:
        found = frame.paths(path)
    except OSError:
        found = []
    if not found:
        raise CliError("no capture at %s (no segment %s.1, %s.2...)" % (path, path, path))
    c = Checked(path, salvage=True)
    try:
        records = list(c)
    except OSError as e:
        raise CliError("cannot read the capture %s: %s" % (path, e.strerror or e))
    if c.error is None:
        return records
    if not records:
        raise CliError("%s; without a whole header nothing is replayed, not even with --salvage (the header holds "
                       "the build identity a replay checks)" % c.error)
    n = len([r for r in records if isinstance(r, list)])
    if not salvage:
        raise CliError("%s; --salvage replays the %d record%s %s" % (c.error, n, "" if n == 1 else "s",
                                                                "in it" if c.cut_short else "before it"))
    total = 0
    for seg in found:
        with open(seg, "rb") as f:
            data = f.read()
        total += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if c.cut_short:
        sys.stderr.write("%s: salvage: replaying all %d record%s, the capture's %d lines, without an end: %s\n"
                         % (prog, n, "" if n == 1 else "s", total, c.error))
    else:
        sys.stderr.write("%s: salvage: replaying %d record%s, the first %d of the capture's %d lines; the rest is "
                         "left out from %s\n" % (prog, n, "" if n == 1 else "s", c.lines, total, c.error))
    return records
