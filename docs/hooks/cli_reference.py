"""MkDocs hook: the CLI reference (docs/cli.md) is generated at build time from the
argument parsers themselves, so it cannot drift from the code.

Each command named by ``rill --help`` is asked for its own ``--help`` (the parser's usage
and options, as a user sees them); ``rill test`` is pytest, so its page lists the options
and ini keys the rill plugin adds to pytest's parser (``rill_host.testing.plugin``), read
from the plugin's ``pytest_addoption`` itself. A command whose help fails fails the build.
"""
import os
import subprocess
import sys

MARK = "<!-- rill-cli-reference -->"


def _rill(*args):
    env = dict(os.environ, COLUMNS="100")
    r = subprocess.run([sys.executable, "-m", "rill_host.cli"] + list(args), capture_output=True, text=True,
                       env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("rill %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r.stdout.rstrip()


def _commands(usage):
    """[(name, summary)] from the ``commands:`` list of ``rill --help``."""
    out, inside = [], False
    for line in usage.splitlines():
        if line.strip() == "commands:":
            inside = True
        elif inside and line.startswith("  ") and line.strip():
            name, _, what = line.strip().partition(" ")
            out.append((name, what.strip()))
        elif inside and not line.strip():
            break
    return out


class _Recorder:
    """Stands in for pytest's parser: records what the rill plugin adds to it."""

    def __init__(self):
        self.options, self.ini = [], []

    def addoption(self, *names, **kw):
        self.options.append((", ".join(names), kw.get("metavar"), kw.get("help", "")))

    def addini(self, name, help, type=None, default=None):
        self.ini.append((name, help))


def _test_section():
    from rill_host.testing import plugin as pytest_plugin

    rec = _Recorder()
    pytest_plugin.pytest_addoption(rec)
    lines = ["`rill test [PYTEST ARGS]` runs pytest in the current folder with the rill plugin; every pytest",
             "argument works. The plugin adds:", "", "| option | what |", "|---|---|"]
    for names, metavar, what in rec.options:
        lines.append("| `%s%s` | %s |" % (names, " " + metavar if metavar else "", what))
    lines += ["", "and these `pytest.ini` keys:", "", "| key | what |", "|---|---|"]
    for name, what in rec.ini:
        lines.append("| `%s` | %s |" % (name, what))
    return "\n".join(lines)


def reference():
    usage = _rill("--help")
    parts = ["```text", usage, "```", ""]
    for name, what in _commands(usage):
        parts += ["## rill %s" % name, "", what[:1].upper() + what[1:] + ".", ""]
        if name == "test":
            parts += [_test_section(), ""]
        else:
            parts += ["```text", _rill(name, "--help"), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if MARK in markdown:
        return markdown.replace(MARK, reference())
    return markdown
