"""``rill test``: pytest in the current folder, the rill plugin active through its entry point.

Outside a project (no pytest config in this folder or above, and no test path given) it
says what it looked for and how to start, instead of pytest's ``no tests ran`` or, from a
project's parent folder, ``No module named 'app'``.
"""
import os
import subprocess
import sys

CONFIGS = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")  # where pytest finds its config


def _has_config(folder):
    for name in CONFIGS:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        if name == "pytest.ini":
            return True
        with open(path, errors="replace") as f:
            text = f.read()
        if ("[tool.pytest.ini_options]" if name == "pyproject.toml" else "[pytest]" if name == "tox.ini"
                else "[tool:pytest]") in text:
            return True
    return False


def project_root(start):
    """The nearest folder from ``start`` up with a pytest config, or None."""
    folder = os.path.abspath(start)
    while True:
        if _has_config(folder):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def projects_below(folder, depth=2):
    """Project folders (with a pytest.ini) under ``folder``, up to ``depth`` levels down."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "build"))
        if dirpath != folder and "pytest.ini" in filenames:
            found.append(os.path.relpath(dirpath, folder))
            dirnames[:] = []
        if dirpath.count(os.sep) - folder.count(os.sep) >= depth:
            dirnames[:] = []
    return found


def outside_project(cwd, args):
    """One message when ``rill test ARGS`` in ``cwd`` would run outside any project, else None."""
    if any(os.path.exists(a.split("::")[0]) for a in args if not a.startswith("-")) or project_root(cwd):
        return None
    looked = "no rill project here: no pytest.ini (nor a pytest section in pyproject.toml, tox.ini or setup.cfg) " \
             "in %s or a folder above it" % cwd
    below = projects_below(cwd)
    if below:
        return "%s; %s %s: cd %s && rill test" % (looked, "the project is" if len(below) == 1 else "projects are",
                                                 ", ".join(below), below[0])
    return "%s; start one with 'rill new DIR --board RPI_PICO_W' (boards: 'rill new --help'), then cd DIR && " \
           "rill test" % looked


def main(argv):
    why = outside_project(os.getcwd(), argv)
    if why:
        print("rill test: %s." % why, file=sys.stderr)
        return 4
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-rfE"] + list(argv))
