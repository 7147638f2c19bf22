"""The ``rill`` command: ``rill <sub> ARGS``.

Every subcommand is a module of this package whose ``main(argv)`` runs in this process;
a user error is one line naming ``rill <sub>`` (rill_host.common.run).
"""
import importlib
import sys

COMMANDS = {
    "new": ("rill_host.scaffold", "scaffold a project: rill new DIR --board B"),
    "test": ("rill_host.testing.command", "run the project's tests on CPython and on MicroPython (pytest ARGS)"),
    "build": ("rill_host.build.cli", "compile rill (and an app) to .mpy for a board"),
    "firmware": ("rill_host.build.firmware", "freeze rill and an app into a MicroPython firmware"),
    "deploy": ("rill_host.deploy.cli", "copy rill, the app, its config and board file onto a board"),
    "vboard": ("rill_host.vboard.cli", "run a virtual board"),
    "run": ("rill_host.vboard.run", "run an app on a virtual board against a local MQTT broker"),
    "ota": ("rill_host.deploy.ota", "send an app's new build to a board over MQTT (OTA update with rollback)"),
    "flash": ("rill_host.deploy.flash", "flash MicroPython onto a board"),
    "monitor": ("rill_host.deploy.monitor", "stream a board's console"),
    "bench": ("rill_host.bench.cli", "measure speed and memory"),
    "replay": ("rill_host.evidence.replay", "replay a capture through an app's pipeline in virtual time"),
    "capture": ("rill_host.evidence.capture", "write a device's capture, received over MQTT, to a capture file"),
    "read": ("rill_host.evidence.read", "read a capture or a generated file back as JSON lines"),
    "trace": ("rill_host.evidence.trace", "the source records behind a published or replayed value"),
    "esphome": ("rill_host.esphome", "turn an ESPHome sensor's filters: list into rill chain data"),
    "gateway": ("rill_host.gateway.__main__", "run an app's pipelines on many devices' MQTT envelopes, into SQLite"),
    "fleet": ("rill_host.fleet", "run N simulated devices (real rill.mqtt bridges) that feed a gateway"),
}


def usage():
    lines = ["usage: rill <command> [ARGS]", "", "commands:"]
    for name, (_, what) in COMMANDS.items():
        lines.append("  %-8s %s" % (name, what))
    lines.append("\n'rill <command> --help' shows a command's arguments.")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    sub, args = argv[0], argv[1:]
    if sub not in COMMANDS:
        print("rill: unknown command %r; commands: %s" % (sub, ", ".join(COMMANDS)), file=sys.stderr)
        return 2
    from rill_host.config_check import check

    problem = check(sub, args)  # test, run, deploy: config.json read strictly before anything runs or ships
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from rill_host.common import run

    module = importlib.import_module(COMMANDS[sub][0])
    return run(module.main, args, "rill " + sub)


if __name__ == "__main__":
    sys.exit(main())
