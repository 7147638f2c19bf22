"""The OTA tests' field: a real broker, a virtual board deployed with rill.ota
(tools/rill_host/deploy/ota.py provisions its key and small configured values) and a
host client on the board's topics. Helper of test_ota_vboard.py."""
import json
import os
import shutil
import time

from rill_host.common import board_micropython, mpy_arch
from rill_host.deploy import ota
from rill_host.deploy.plan import FIRMWARE, App, plan, stage
from rill_host.mqtt_host import Client, stop_group
from rill_host.vboard.run import Console, app_config, start_board

BOARD = "RPI_PICO_W"
DEVICE = "ota-1"


def app_dir(tmp, name, text=None, extra="", module="app.py"):
    """An app folder: the example's app.py (or ``text``, as ``module``: not app.py, no
    dispatch is generated for it, which is slow for an app that cannot be imported)
    with ``extra`` appended."""
    d = os.path.join(str(tmp), name)
    os.makedirs(d, exist_ok=True)
    if text is None:
        with open(os.path.join(FIRMWARE, "app.py")) as f:
            text = f.read()
    with open(os.path.join(d, module), "w") as f:
        f.write(text + extra)
    return App(d)


PREPARED = {}  # (app.py text, config text) -> a prepared update: the same build in every test


class Field:
    def __init__(self, tmp, broker, conf=(3, 1, 2, 30)):
        self.tmp = str(tmp)
        self.conf = conf
        self.broker = broker
        self.exe = board_micropython()
        self.arch = mpy_arch(self.exe)
        self.config = os.path.join(self.tmp, "config.json")
        with open(self.config, "w") as f:
            json.dump(app_config(App(FIRMWARE), DEVICE, BOARD, broker.port, False), f)
        self.base = "rill/%s/" % DEVICE
        self.proc = self.client = None
        self.console = None

    def deploy(self, app):
        fs = os.path.join(self.tmp, "fs")
        shutil.rmtree(fs, ignore_errors=True)
        out = os.path.join(self.tmp, "out")
        os.makedirs(out, exist_ok=True)
        items = plan(app, BOARD, self.arch, config=self.config, ota=True)
        stage(fs, items + ota.provision(self.tmp, DEVICE, out, self.conf))
        self.key = ota.read_key(ota.key_path(self.tmp, DEVICE))
        self.fs = fs
        return items

    def start(self):
        self.client = Client(self.broker.port, "watch")
        self.client.subscribe(self.base + "#")
        work = os.path.join(self.tmp, "work")
        os.makedirs(work, exist_ok=True)
        self.proc, _, log = start_board(BOARD, self.fs, work, exe=self.exe)
        self.console = Console(log)
        return self

    def messages(self, seconds, until=None):
        """(topic, payload dict or bytes, retained) for ``seconds``, or until ``until(msg)``."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                m = self.client.receive(0.2)
            except OSError:
                self.client = Client(self.broker.port, "watch")
                self.client.subscribe(self.base + "#")
                continue
            if m is None:
                continue
            try:
                doc = json.loads(m.payload)
            except ValueError:
                doc = m.payload
            got.append((m.topic[len(self.base):], doc, m.retain))
            if until and until(got[-1]):
                break
        return got

    def birth(self, seconds=30, pred=lambda doc: True):
        """The next (not retained) birth message satisfying ``pred``, or None."""
        def ok(m):
            return m[0] == "status" and isinstance(m[1], dict) and m[1].get("status") == "online" and not m[2] \
                and pred(m[1])
        got = self.messages(seconds, ok)
        return got[-1][1] if got and ok(got[-1]) else None

    def prepare(self, app):
        with open(list(app.modules.values())[0]) as f, open(self.config) as g:
            k = (f.read(), g.read())
        if k not in PREPARED:
            PREPARED[k] = ota.prepare(app, BOARD, self.arch, self.config)
        return PREPARED[k]

    def update(self, app, **kw):
        return ota.update(self.prepare(app), DEVICE, "127.0.0.1", self.broker.port, self.key,
                          timeout=kw.pop("timeout", 60), **kw)

    def said(self):
        self.console.poll()
        return "\n".join(self.console.lines)

    def close(self):
        if self.proc is not None:
            stop_group(self.proc)
        if self.client is not None:
            self.client.close()
        self.broker.start()  # for the next test (one broker per module, so one config and one build)
