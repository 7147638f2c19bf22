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


def capture_records(path):
    """The records of the capture at ``path`` (rill.io.frame.read); CliError if none."""
    from rill.io import frame

    try:
        found = frame.paths(path)
    except OSError:
        found = []
    if not found:
        raise CliError("no capture at %s (no segment %s.1, %s.2...)" % (path, path, path))
    return frame.read(path)
