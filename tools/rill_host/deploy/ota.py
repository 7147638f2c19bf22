#!/usr/bin/env python3
"""Send an app's new build to a board over MQTT, and report what the board says.

    rill ota --app . --device greenhouse-1 --board ESP32_GENERIC [--arch xtensawin]

The build is what ``rill deploy --ota`` would ship (tools/rill_host/deploy/plan.py: the
rill packages, rill.ota among them, the app, its config.json, board file and
build.json), minus boot.py and the /.ota folder: those stay as deployed. The board's
receiver (lib/rill/ota/receiver.py has the protocol) writes it into its other slot,
checks every file against the manifest, which is signed with HMAC-SHA256 under the
device's key, and restarts into it. This command shows a progress bar, resumes from
where the board says it is after a dropped connection, and reports the result from
the board: a refusal's reason, or its next birth message, which must carry the new
build's identity. The key is ``<app>/.rill/ota/<device>.key``, made by ``provision``
(``rill deploy --ota``, or the first ``rill ota``); ``--key FILE`` names another.

Exit status 0 when the board came back with the new build, 1 (one sentence) otherwise.
"""
import hashlib
import hmac
import json
import os
import secrets
import sys
import time

from rill_host.common import CliError, Parser, cli
from rill_host.mqtt_host import BrokerError, Client

CHUNK = 1024  # lib/rill/ota/receiver.py: CHUNK
WINDOW = 32  # chunks sent ahead of what the board has reported (it reports every 8: lib/rill/ota/transfer.py)
CONF = (10, 1, 60, 300)  # lib/rill/ota/__init__.py: DEFAULTS (K, TRIES, GOOD_S, SAFE_S)


# -- the key and the board's /.ota folder -------------------------------------------------

def key_path(app_root, device):
    return os.path.join(app_root, ".rill", "ota", device + ".key")


def provision(app_root, device, out, conf=CONF):
    """The plan items of a board's /.ota folder: its key (made once per device, kept
    at key_path), conf (K TRIES GOOD_S SAFE_S), and the slot file and boot count that
    make the build deployed with them the one that runs; written into ``out``."""
    path = key_path(app_root, device)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    items = [("/.ota/key", path, "ota")]
    os.makedirs(out, exist_ok=True)
    for name, text in (("conf", " ".join(str(int(v)) for v in conf)), ("slot", "- - 0"), ("boots", "0")):
        local = os.path.join(out, "ota." + name)
        with open(local, "w") as f:
            f.write(text + "\n")
        items.append(("/.ota/" + name, local, "ota"))
    return items


def read_key(path):
    try:
        with open(path) as f:
            return bytes.fromhex(f.read().strip())
    except (OSError, ValueError) as e:
        raise CliError("no usable OTA key at %s (%s): deploy with --ota first, or pass --key" % (path, e))


# -- the update -------------------------------------------------------------------------

def bundle(items):
    """(manifest bytes, [(slot path, host file)], identity) from a deploy plan's items."""
    files = [(remote.lstrip("/"), local) for remote, local, group in items
             if remote != "/boot.py" and group != "ota"]
    entries = []
    for rel, local in files:
        with open(local, "rb") as f:
            data = f.read()
        entries.append([rel, len(data), hashlib.sha256(data).hexdigest()])
    ident = {}
    for rel, local in files:
        if rel == "build.json":
            with open(local) as f:
                ident = json.load(f)
    uid = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:8] + secrets.token_hex(2)  # one per send
    manifest = json.dumps({"id": uid, "build": ident, "files": entries}, separators=(",", ":")).encode()
    return manifest, files, ident


def stream(manifest, files):
    """The bytes the board receives: the manifest, then every file in its order."""
    parts = [manifest]
    for _, local in files:
        with open(local, "rb") as f:
            parts.append(f.read())
    return b"".join(parts)


def sign(key, manifest):
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


class Sender:
    """Sends one update to the board whose topics start with ``base`` and follows its
    status: windowed, resumed from the board's offset after silence. ``connect()``
    gives a rill_host.mqtt_host.Client subscribed to ``base + "#"``; it is called again
    when the connection drops (a restarted broker)."""

    def __init__(self, connect, base, manifest, data, sig, progress=None):
        self.connect, self.base = connect, base.rstrip("/") + "/"
        self.client = connect()
        self.manifest, self.data, self.sig = manifest, data, sig
        self.uid = json.loads(manifest)["id"]
        self.progress = progress or (lambda at, total: None)
        self.at = 0  # what the board has reported
        self.status = None
        self.births = []  # birth messages seen meanwhile (the board restarts into the update)
        self.reconnects = 0
        self.chunks = 0  # sent, resends included

    def _pub(self, payload):
        self.client.publish(self.base + "ota/in", payload)

    def begin(self):
        self._pub(b"B%s %s %d" % (self.sig.encode(), self.uid.encode(), len(self.manifest)))

    def chunk(self, off):
        self.chunks += 1
        self._pub(b"D" + off.to_bytes(4, "big") + self.data[off:off + CHUNK])

    def _reconnect(self, deadline):
        try:
            self.client.close()
        except OSError:
            pass
        while True:
            try:
                self.client = self.connect()
                self.reconnects += 1
                return
            except (OSError, BrokerError):
                if time.monotonic() > deadline:
                    raise CliError("lost the broker and could not reconnect")
                time.sleep(0.2)

    def poll(self, timeout):
        """Read one message; the board's status for this update, if that is what came."""
        msg = self.client.receive(timeout)
        if msg is None:
            return None
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        if msg.topic == self.base + "status" and doc.get("status") == "online" and not msg.retain:
            self.births.append(doc)
            return None
        if msg.topic != self.base + "ota/status" or doc.get("id") != self.uid or msg.retain:
            return None
        self.status = doc
        if doc.get("state") == "receiving":
            self.at = doc.get("at", self.at)
            self.progress(self.at, len(self.data))
        return doc

    def send(self, limit=None, timeout=120.0, stall=1.5):
        """Send until the board has it all, then ``E`` (``limit``: stop after that many
        bytes, then ``E``: a cut-off update). Returns the board's final status for it
        (state switching, or refused with its reason)."""
        end = len(self.data) if limit is None else min(limit, len(self.data))
        deadline = time.monotonic() + timeout
        sent, ended, quiet = 0, False, time.monotonic()
        self.begin()
        while time.monotonic() < deadline:
            try:
                while sent < end and sent < self.at + WINDOW * CHUNK:
                    self.chunk(sent)
                    sent = min(end, sent + CHUNK)
                if sent >= end and self.at >= end and not ended:
                    self._pub(b"E")
                    ended = True
                doc = self.poll(0.1)
                if doc is not None:
                    quiet = time.monotonic()
                    if doc.get("gap"):  # the board lost chunks after ``at``: go back there
                        sent, ended = min(self.at, end), False
                    if doc.get("state") in ("switching", "refused"):
                        return doc
                elif time.monotonic() - quiet > stall:  # silence: lost chunks or a lost connection
                    self.begin()  # the same id: the board says where it is, and goes on from there
                    sent, ended, quiet = min(self.at, end), False, time.monotonic()
            except (OSError, BrokerError):
                self._reconnect(deadline)
                sent, ended, quiet = min(self.at, end), False, time.monotonic()
                self.begin()
        raise CliError("the board did not take the update within %.0f s (it reported %d of %d bytes)"
                       % (timeout, self.at, len(self.data)))

    def wait_birth(self, ident, timeout=60.0):
        """The board's next birth message that carries ``ident`` (its short form); None if
        none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for b in self.births:
                if same_build(b.get("build"), ident):
                    return b
            self.births = []
            try:
                self.poll(0.2)
            except (OSError, BrokerError):
                self._reconnect(deadline)
        return None


def same_build(got, ident):
    """True when a birth's ``build`` (rill.identity's short form) is ``ident``'s."""
    return isinstance(got, dict) and all(got.get(k) == ident.get(k, "")[:12] for k in ("lib", "app", "config"))


# -- the command --------------------------------------------------------------------------

def parse_args(argv):
    p = Parser(prog="rill ota", description="Send an app's new build to a board over MQTT (OTA update).")
    p.add_argument("--app", default=".", help="the app: a folder or a .py module (default: .)")
    p.add_argument("--device", required=True, help="the board's device id (its topics: <topic_root>/<device>/...)")
    p.add_argument("--board", help="board id under boards/ (default: the app config's board)")
    p.add_argument("--arch", help="mpy-cross -march of the board (default: the virtual board's)")
    p.add_argument("--config", help="the config.json to ship (default: the app's)")
    p.add_argument("--host", help="MQTT broker (default: the config's mqtt.host)")
    p.add_argument("--port", type=int, help="MQTT port (default: the config's mqtt.port, else 1883)")
    p.add_argument("--topic-root", help="default: the config's topic_root, else rill")
    p.add_argument("--key", help="the device's key file (default <app>/.rill/ota/<device>.key)")
    p.add_argument("--source", action="store_true", help="ship .py sources, not .mpy")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for the transfer, and again for the birth")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def bar(at, total, width=30):
    done = int(width * at / total) if total else width
    sys.stderr.write("\rrill ota: [%s%s] %3d%% %d/%d bytes" % ("#" * done, "." * (width - done),
                                                                  100 * at // max(1, total), at, total))
    if at >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def prepare(app, board, arch, config=None, source=False):
    """(manifest, stream, identity) of ``app``'s build for ``board``: what update() sends
    (built where rill deploy builds, build/deploy/<arch>: the library's .mpy are cached there)."""
    from rill_host.deploy.plan import plan

    items = plan(app, board, arch, source, config, ota=True)
    manifest, files, ident = bundle(items)
    return manifest, stream(manifest, files), ident


def update(prepared, device, host, port, key, topic_root="rill", timeout=120.0, progress=None, limit=None,
           tamper=None, birth_timeout=None):
    """Send ``prepared`` (prepare()) to ``device``; (final status, birth or None, bytes,
    seconds). ``limit`` cuts the stream there; ``tamper(manifest, data) -> (manifest,
    data)`` changes them after signing (both for tests: the board must refuse);
    ``birth_timeout``: how long to wait for the birth (default ``timeout``)."""
    manifest, data, ident = prepared
    sig = sign(key, manifest)
    if tamper:
        manifest, data = tamper(manifest, data)
    base = "%s/%s/" % (topic_root, device)

    def connect():
        c = Client(port, "rill-ota-" + device, host=host)
        c.subscribe(base + "#")
        return c

    s = Sender(connect, base, manifest, data, sig, progress)
    try:
        t0 = time.monotonic()
        doc = s.send(limit, timeout)
        took = time.monotonic() - t0
        wait = timeout if birth_timeout is None else birth_timeout
        birth = s.wait_birth(ident, wait) if doc.get("state") == "switching" and wait else None
        return doc, birth, len(data), took
    finally:
        s.client.close()


def main(argv):
    from rill_host.common import board_micropython, mpy_arch
    from rill_host.deploy.plan import App

    args = parse_args(argv)
    app = App(args.app)
    config = args.config or app.config
    cfg = {}
    if config:
        with open(config) as f:
            cfg = json.load(f)
    board = args.board or cfg.get("board")
    if not board:
        raise CliError("which board? pass --board (the app's config.json names none)")
    mqtt = cfg.get("mqtt") or {}
    key = read_key(args.key or key_path(app.root, args.device))
    prepared = prepare(app, board, args.arch or mpy_arch(board_micropython()), config, args.source)
    doc, birth, size, took = update(prepared, args.device, args.host or mqtt.get("host", "127.0.0.1"),
                                    args.port or mqtt.get("port", 1883), key,
                                    args.topic_root or cfg.get("topic_root", "rill"), args.timeout,
                                    None if args.quiet else bar)
    if doc.get("state") == "refused":
        raise CliError("the board refused the update: %s" % doc.get("reason"))
    print("rill ota: %d bytes in %.1f s (%d bytes/s); the board restarts into slot %s"
          % (size, took, size / max(took, 1e-6), "b" if doc.get("slot") == "a" else "a"), flush=True)
    if birth is None:
        raise CliError("the board did not come back with the new build within %.0f s (it rolls back to the "
                       "previous one if the new build does not report healthy)" % args.timeout)
    print("rill ota: %s is back with the new build (boot %s, build %s)"
          % (args.device, birth.get("boot"), json.dumps(birth.get("build"), sort_keys=True)))
    return 0


if __name__ == "__main__":
    cli(main, "rill ota")
