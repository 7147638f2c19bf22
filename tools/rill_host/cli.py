"""The ``rill`` command: ``rill <sub> ARGS``.

``new`` and ``test`` live here; the others run the checkout's tool with the same
arguments (``python tools/<tool>.py ARGS``), from the current folder.
"""
import os
import subprocess
import sys

from . import ROOT

TOOLS = {
    "build": ("build.py", "compile rill (and an app) to .mpy for a board"),
    "firmware": ("firmware.py", "freeze rill and an app into a MicroPython firmware (make FROZEN_MANIFEST=...)"),
    "deploy": ("deploy.py", "copy rill, the app, its config and board file onto a board"),
    "vboard": ("vboard.py", "run a virtual board"),
    "run": ("run_example.py", "run an app on a virtual board against a local MQTT broker"),
    "flash": ("flash.py", "flash MicroPython onto a board"),
    "monitor": ("monitor.py", "stream a board's console"),
    "bench": ("bench.py", "measure speed and memory"),
    "replay": ("replay_capture.py", "replay a capture through an app's pipeline in virtual time"),
    "capture": ("capture_mqtt.py", "write a device's capture, received over MQTT, to a capture file"),
    "trace": ("trace.py", "the source records behind a published message or a replayed value"),
}
OWN = {
    "new": "scaffold a project: rill new DIR --board B",
    "test": "run the project's tests on CPython and on MicroPython (pytest ARGS)",
    "gateway": "run an app's pipelines on MQTT envelopes from many devices, into SQLite",
    "fleet": "run N simulated devices (real rill.mqtt bridges) that feed a gateway",
}


def usage():
    lines = ["usage: rill <command> [ARGS]", "", "commands:"]
    for name, what in list(OWN.items()) + [(k, v[1]) for k, v in TOOLS.items()]:
        lines.append("  %-8s %s" % (name, what))
    lines.append("\n'rill <command> --help' shows a command's arguments.")
    return "\n".join(lines)


def run_tool(script, args):
    return subprocess.call([sys.executable, os.path.join(ROOT, "tools", script)] + list(args))


def run_tests(args):
    """pytest in the current folder; the rill plugin is active through its entry point."""
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-rfE"] + list(args))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    sub, args = argv[0], argv[1:]
    from .config_check import check

    problem = check(sub, args)  # test, run, deploy: config.json read strictly before anything runs or ships
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        if sub == "new":
            from . import scaffold

            return scaffold.main(args)
        if sub == "test":
            return run_tests(args)
        if sub in ("gateway", "fleet"):
            mod = __import__("rill_host." + ("gateway.__main__" if sub == "gateway" else "fleet"), fromlist=["main"])
            return mod.main(args)
        if sub in TOOLS:
            return run_tool(TOOLS[sub][0], args)
    except KeyboardInterrupt:
        return 130
    print("rill: unknown command %r; commands: %s" % (sub, ", ".join(list(OWN) + list(TOOLS))), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
