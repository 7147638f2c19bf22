"""The config.json check that ``rill test``, ``rill run`` and ``rill deploy`` make before
anything runs or ships (called from ``cli.main``): the project's config.json read by
``rill.config``, the parser a board runs, so a file one runtime would take and another
refuse stops here with one line naming the file, the line and the key."""
import os

from rill import config  # the on-device library, installed with rill_host

CHECKED = ("test", "run", "deploy")


def _option(args, name):
    """The value of ``--name X`` or ``--name=X`` in ``args``, else None."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return None


def config_path(sub, args, cwd="."):
    """The config.json that ``rill <sub> args`` reads, or None: for ``test`` the current
    folder's; for ``run`` and ``deploy`` the ``--app`` folder's (``deploy --config`` names one)."""
    if sub == "test":
        path = os.path.join(cwd, "config.json")
        return path if os.path.isfile(path) else None
    if sub == "deploy" and _option(args, "--config"):
        return _option(args, "--config")
    app = _option(args, "--app")
    if app and os.path.isdir(app):
        path = os.path.join(app, "config.json")
        return path if os.path.isfile(path) else None
    return None


def check(sub, args):
    """None when ``rill <sub> args`` reads no config.json or a good one, else the one-line error."""
    if sub not in CHECKED or any(a in ("-h", "--help") for a in args):
        return None
    path = config_path(sub, args)
    if path is None:
        return None
    try:
        config.load(os.path.relpath(path))
    except OSError as e:
        return "rill %s: cannot read %s (%s)" % (sub, path, e.strerror or e)
    except ValueError as e:
        return "rill %s: %s" % (sub, e)
    return None
