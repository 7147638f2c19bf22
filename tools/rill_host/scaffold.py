"""``rill new DIR --board B``: a project that runs, tests and deploys as it is.

Writes app.py (a small real pipeline), config.json, main.py, tests/ (one virtual-time
test, one MQTT round trip), pytest.ini (the board, for the plugin), README.md and
.gitignore. Refuses a folder that already has files in it.
"""
import argparse
import json
import os
import shutil
import string
import sys

from rill_host import BOARDS

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template")
COPIED = ("app.py", "main.py", "tests/test_app.py", "tests/test_mqtt.py")


def boards():
    folder = BOARDS
    return sorted(b for b in os.listdir(folder) if os.path.exists(os.path.join(folder, b, "board.json")))


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, "rill new: %s\n" % message)


def parse_args(argv):
    known = boards()
    p = Parser(prog="rill new", description="Create a rill project in DIR.")
    p.add_argument("dir", help="the project folder (created; must be empty if it exists)")
    p.add_argument("--board", required=True, choices=known, metavar="BOARD", help="one of " + ", ".join(known))
    return p.parse_args(argv)


def create(folder, board):
    name = os.path.basename(os.path.abspath(folder))
    if os.path.isdir(folder) and os.listdir(folder):
        raise SystemExit("rill new: %s is not empty; give a new or empty folder" % folder)
    os.makedirs(os.path.join(folder, "tests"), exist_ok=True)
    for rel in COPIED:
        shutil.copyfile(os.path.join(TEMPLATE, rel), os.path.join(folder, rel))
    config = {"board": board, "device": "%s-1" % name, "every_ms": 2000, "window": 5,
              "mqtt": {"host": "127.0.0.1", "port": 1883, "topic": name + "/{device}/temp"}, "wifi": None}
    files = {
        "config.json": json.dumps(config, indent=2) + "\n",
        "pytest.ini": "[pytest]\ntestpaths = tests\naddopts = -p no:cacheprovider\nrill_board = %s\n" % board,
        ".gitignore": "build/\n__pycache__/\n.rill/\n",  # .rill: runtime state (sequence files, virtual boards)
    }
    with open(os.path.join(TEMPLATE, "README.md")) as f:
        files["README.md"] = string.Template(f.read()).substitute(name=name, board=board)
    for rel, text in files.items():
        with open(os.path.join(folder, rel), "w") as f:
            f.write(text)
    return name


def main(argv):
    args = parse_args(argv)
    name = create(args.dir, args.board)
    print("rill new: created %s for %s in %s; next: cd %s && rill test" % (name, args.board, args.dir, args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
