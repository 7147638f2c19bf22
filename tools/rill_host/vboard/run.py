#!/usr/bin/env python3
"""The demo (`make run`): the example firmware on a virtual board, talking to a real broker.

    rill run [--board RPI_PICO_W] [--seconds 10 | --forever]
    rill run --app ~/greenhouse      # a project's app (`rill run`)

1. starts a broker on a free loopback port (mosquitto, else amqtt from the venv);
2. deploys firmware/ to a fresh virtual board filesystem (.rill/vboard/example/<BOARD>/fs)
   as a real board gets it: lib/rill and umqtt compiled to .mpy in /lib, app.mpy,
   boot.py, main.py, the board file and a config.json pointing at that broker
   (``--source`` runs the .py sources from the repository instead);
3. starts tools/rill_host/vboard/cli.py, whose power-on runs main.py, i.e. the pipeline of
   firmware/app.py: simulated BME280 -> moving average -> threshold alarm -> MQTT.
   The board runs the 32-bit MicroPython when there is one (tools/rill_host/common.py's
   ``board_micropython``), at the board's own heap budget, else the 64-bit one at the
   budget x1.5; the .mpy files are compiled for that port (x86 or x64);
4. subscribes to rill/# and prints what arrives; partway it publishes a command
   ({"interval_ms": 500, "led": true}) and the board's answer shows on its console;
5. stops everything and prints one summary line: messages received, sequence gaps
   (for an app on a board without networking, RPI_PICO: the lines its console printed).

``--app DIR_OR_MODULE`` runs a project's app instead (tools/rill_host/deploy/plan.py says what an
app is): deployed the same way, with its own config.json (if any) pointed at the
broker (``mqtt.host``/``mqtt.port``); every topic is shown, and no command is sent.
The virtual board is its config's ``board`` unless --board says otherwise (then the
config's ``board`` becomes that one, as the app runs there).

Exit status 0 when messages arrived, 1 (one sentence) otherwise.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from rill_host.common import (
    VBOARD_DIR,
    CliError,
    Parser,
    board_micropython,
    cli,
    load_board,
    mpy_arch,
    running_vboard,
    tool,
)
from rill_host.deploy.plan import FIRMWARE, App, plan, stage
from rill_host.mqtt_host import Broker, BrokerError, Client, stop_group
from rill_host.vboard.cli import shown as shown_path

TOPIC_ROOT = "rill"
DEFAULT_BOARD = "RPI_PICO_W"


def parse_args(argv):
    p = Parser(prog="rill run",
               description="Run an app (default: the example app) on a virtual board against a local broker.")
    p.add_argument("--board", help="board id under boards/ (default: the app config's board, else %s)"
                   % DEFAULT_BOARD)
    p.add_argument("--app", help="a project's app: a folder or a .py module (default: rill's example app)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to listen (default %(default)s)")
    p.add_argument("--forever", action="store_true", help="listen until Ctrl-C")
    p.add_argument("--source", action="store_true", help="run rill and the app as .py sources (no .mpy)")
    p.add_argument("--broker", choices=("mosquitto", "amqtt"), help="which broker (default: mosquitto if installed)")
    p.add_argument("--no-command", action="store_true", help="do not send the demo command")
    p.add_argument("--console", action="store_true", help="also show each sample on the board console")
    p.add_argument("--heap", help="the virtual board's heap, e.g. 400K (default: the board's budget, on the "
                   "32-bit MicroPython when there is one, else x1.5 on the 64-bit one)")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = p.parse_args(argv)
    if not args.forever and not 1 <= args.seconds <= 86400:
        p.error("--seconds must be between 1 and 86400")
    return args


def deploy(fs, board, app, config, source, exe=None):
    """Fill a fresh board filesystem exactly as tools/rill_host/deploy/cli.py fills a real board, with .mpy
    for the unix port ``exe`` (default: the one the virtual board runs, ``board_micropython``)."""
    shutil.rmtree(fs, ignore_errors=True)
    os.makedirs(fs)
    path = fs.rstrip(os.sep) + ".config.json"  # planned as the board's config.json: build.json hashes it
    with open(path, "w") as f:
        json.dump(config, f)
    stage(fs, plan(app, board, mpy_arch(board_micropython(exe)), source=source, config=path))


def own_config(app):
    """The app's own config.json as a dict ({} without one; never the example's)."""
    if app.root == FIRMWARE or not app.config:
        return {}
    try:
        with open(app.config) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise CliError("cannot read %s (%s)" % (app.config, e))
    if not isinstance(config, dict):
        raise CliError("%s is not a JSON object" % app.config)
    return config


def app_config(app, device, board, port, console):
    """The config.json the app gets: the example's, or the app's own pointed at the broker
    and at the board it runs on."""
    if app.root == FIRMWARE:
        return {"device": device, "board": board, "topic_root": TOPIC_ROOT, "console": console,
                "mqtt": {"host": "127.0.0.1", "port": port, "keepalive": 10}}
    config = own_config(app)
    config.setdefault("device", device)
    config["board"] = board
    mqtt = config.setdefault("mqtt", {})
    if not isinstance(mqtt, dict):
        raise CliError("%s: \"mqtt\" is not an object" % app.config)
    mqtt.update(host="127.0.0.1", port=port)
    return config


def start_board(board, fs, work, heap=None, exe=None, extra=()):
    port_file = os.path.join(work, "port")
    log = os.path.join(work, "console.log")
    for f in (port_file, log):
        if os.path.exists(f):
            os.remove(f)
    cmd = [sys.executable, "-m", "rill_host.vboard.cli", "--board", board, "--fs", fs,
           "--port-file", port_file, "--log", log, "--micropython", board_micropython(exe)]
    if heap:
        cmd += ["--heap", heap]
    cmd += list(extra)  # more rill vboard options (--wifi ...)
    out = open(os.path.join(work, "vboard.out"), "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    deadline = time.monotonic() + 15
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_group(proc)
            with open(os.path.join(work, "vboard.out")) as f:
                said = f.read().strip().splitlines()
            raise CliError("the virtual board did not start: %s" % (said[-1] if said else "no output"))
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, f.read().split()[0], log


class Console:
    """Follows the board's console log, line by line."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.part = b""
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return []
        self.pos += len(data)
        data = self.part + data
        *done, self.part = data.split(b"\n")
        new = [ln.decode(errors="replace").rstrip("\r") for ln in done]
        self.lines += new
        return new


class Tally:
    def __init__(self):
        self.count = 0
        self.topics = {}
        self.seqs = {}  # (stream, dev, boot) -> seqs: a capture numbers its messages in a sequence of its own

    def add(self, msg):
        self.count += 1
        leaf = msg.topic.rsplit("/", 1)[-1]
        self.topics[leaf] = self.topics.get(leaf, 0) + 1
        try:
            env = json.loads(msg.payload)
        except ValueError:
            env = None
        if isinstance(env, dict) and "status" in env:  # birth and last will
            return "%s boot=%s" % (env["status"], env.get("boot")) + ("  (retained)" if msg.retain else "")
        if isinstance(env, dict) and "seq" in env and "v" in env:
            if not msg.retain:
                from rill_host.gateway.core import STREAMS

                self.seqs.setdefault((STREAMS.get(leaf, ""), env.get("dev"), env.get("boot")), []).append(env["seq"])
            return "seq=%-4s %s" % (env["seq"], json.dumps(env["v"]))
        return msg.payload.decode(errors="replace") + ("  (retained)" if msg.retain else "")

    def summary(self, seconds):
        parts = ", ".join("%s %d" % kv for kv in sorted(self.topics.items()))
        s = "%d messages in %.1f s" % (self.count, seconds) + (" (%s)" % parts if parts else "")
        for (stream, _, _), seqs in sorted(self.seqs.items(), key=str):
            uniq = sorted(set(seqs))
            gaps = (uniq[-1] - uniq[0] + 1) - len(uniq)
            s += "; %sseq %d..%d, %d gaps, %d duplicates" % (stream + " " if stream else "", uniq[0], uniq[-1], gaps,
                                                            len(seqs) - len(uniq))
        return s


def last_words(lines):
    """What best explains a failure: the last exception line, else the last line. An exception
    that lists problems (``GraphError: 2 problem(s) in pipeline:`` then ``  - ...`` lines)
    comes with them, one a line, so they are the last lines the user sees."""
    lines = [ln.rstrip() for ln in lines if ln.strip() and not ln.startswith(("MicroPython ", "Type \"help", ">>>"))]
    errors = [i for i, ln in enumerate(lines) if ln.split(":")[0].strip().endswith(("Error", "Exception", "Interrupt"))]
    if not errors:
        return (lines or ["nothing"])[-1].strip()
    said = lines[errors[-1]].strip()
    if said.endswith(":"):
        listed = [ln.strip() for ln in lines[errors[-1] + 1:] if ln.lstrip().startswith("- ")]
        said += "".join("\n  " + ln for ln in listed)
    if "MemoryError" in said:
        said += " (the board's heap is too small for this: deploy as .mpy, the default, or try --heap)"
    return said


def no_network(board, lines, elapsed):
    """The summary for an app on a board without networking: what its console showed."""
    said = [ln for ln in lines if ln.strip() and not ln.startswith(("MicroPython ", "Type \"help", ">>>"))]
    if not said or any(ln.startswith("Traceback") for ln in said):
        raise CliError("the app on %s (no network, so no MQTT) stopped or said nothing in %.0f s; the board said: %s"
                       % (board, elapsed, last_words(lines)))
    print("rill run: %s has no network, so no MQTT: %d console lines in %.1f s" % (board, len(said), elapsed),
          flush=True)
    return 0


def run(args):
    app = App(args.app or FIRMWARE)
    named = own_config(app).get("board")
    args.board = args.board or (named if isinstance(named, str) else None) or DEFAULT_BOARD
    offline = load_board(args.board).get("network") == "none"  # also: a clear error for an unknown board
    example = app.root == FIRMWARE
    if not example:
        args.no_command = True
    exe = board_micropython()  # the 32-bit port when there is one: the board's budget as it is
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    work = os.path.abspath(os.path.join(VBOARD_DIR, "example", args.board))
    fs = os.path.join(work, "fs")
    held = running_vboard(work)
    if held:  # checked before deploy() empties the folder under it
        raise CliError("another run uses the virtual %s (pid %s); stop it first" % (args.board, held["pid"]))
    device = "vboard-" + args.board.lower()
    procs = []
    broker = client = None
    try:
        try:
            broker = Broker(kind=args.broker, amqtt=tool("amqtt"), own_session=True)  # outlives a Ctrl-C
            broker.start()
        except BrokerError as e:
            raise CliError(str(e))
        say("rill run: broker %s on 127.0.0.1:%d" % (broker.kind, broker.port))
        config = app_config(app, device, args.board, broker.port, args.console)
        deploy(fs, args.board, app, config, args.source, exe)
        client = Client(broker.port, "run-example")
        topics = TOPIC_ROOT + "/#" if example else "#"
        client.subscribe(topics)
        board, port, log = start_board(args.board, fs, work, args.heap, exe)
        heap = (running_vboard(work) or {}).get("heap", "?")  # and where it comes from
        procs.append(board)
        say("rill run: virtual board %s on %s (heap %s), %s deployed %s; listening on %s %s"
            % (args.board, port, heap, shown_path(app.root) + "/", "as .py sources" if args.source else "as .mpy",
               topics, "until Ctrl-C" if args.forever else "for %g s" % args.seconds))
        console = Console(log)
        tally = Tally()
        t0 = time.monotonic()
        end = None if args.forever else t0 + args.seconds
        cmd_at = None if args.no_command else t0 + (4.0 if args.forever else max(2.0, args.seconds * 0.4))
        cmd_topic = "%s/%s/cmd" % (TOPIC_ROOT, device)
        try:
            while end is None or time.monotonic() < end:
                for line in console.poll():
                    if line.strip():
                        say("board | " + line)
                if cmd_at is not None and time.monotonic() >= cmd_at:
                    cmd = json.dumps({"interval_ms": 500, "led": True})
                    client.publish(cmd_topic, cmd)
                    say("cmd   | %s %s" % (cmd_topic, cmd))
                    cmd_at = None
                if board.poll() is not None:
                    raise CliError("the virtual board exited (status %s)" % board.returncode)
                msg = client.receive(0.1)
                if msg is not None and msg.topic != cmd_topic:  # our own command comes back too
                    shown = tally.add(msg)
                    say("mqtt  | %-34s %s" % (msg.topic, shown))
        except KeyboardInterrupt:
            pass
        elapsed = time.monotonic() - t0
        stop_group(board)  # the board vanishes without DISCONNECT: its last will says "offline"
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            msg = client.receive(0.1)
            if msg is not None:
                say("mqtt  | %-34s %s" % (msg.topic, tally.add(msg)))
                if b'"offline"' in msg.payload:
                    break
        for line in console.poll():
            if line.strip():
                say("board | " + line)
        if offline and not example:
            return no_network(args.board, console.lines, elapsed)
        applied = any("app: command" in ln for ln in console.lines)
        summary = tally.summary(elapsed)
        if not args.no_command:
            summary += "; command %s" % ("applied" if applied else "NOT seen on the board")
        if tally.count == 0 or (example and not tally.seqs):
            raise CliError("no pipeline messages arrived in %.0f s (%s); the board said: %s"
                           % (elapsed, summary, last_words(console.lines)))
        print("rill run: " + summary, flush=True)
        return 0
    finally:
        for p in procs:
            stop_group(p)
        if client is not None:
            client.close()
        if broker is not None:
            broker.close()


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill stops as cleanly as Ctrl-C
    return run(args)


if __name__ == "__main__":
    cli(main, "rill run")
