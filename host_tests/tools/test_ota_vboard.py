"""OTA updates and safe mode (rill.ota, rill ota) on the virtual board with a real
broker: the update's next birth carries the new build; a broken build rolls back after
its configured boots; a tampered manifest, a wrong file hash and a cut-off update are
refused with their reason while the old build keeps publishing; an update resumes
after a broker restart; K crashing boots enter safe mode, which takes an update.
Small configured values (otatest.Field: K=3, TRIES=1, GOOD_S=2, SAFE_S=30)."""
import os
import subprocess
import sys
import time

import pytest

from otatest import DEVICE, Field, app_dir
from rill_host.build.identity import identity
from rill_host.common import ROOT
from rill_host.deploy import ota
from rill_host.mqtt_host import Broker

CRASH = "raise RuntimeError('broken build')\n"


@pytest.fixture(scope="module")
def broker():
    b = Broker().start()
    yield b
    b.close()


@pytest.fixture
def field(tmp_path, broker):
    made = []

    def make(**kw):
        f = Field(tmp_path, broker, **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def app_hash(app):
    return identity(app.modules)["app"][:12]


def publishing(f, boot, seconds=5):
    """True when the running build publishes readings (under boot number ``boot``)."""
    got = f.messages(seconds, lambda m: m[0] == "temp" and isinstance(m[1], dict) and m[1].get("boot") == boot)
    return bool(got) and got[-1][0] == "temp"


def status(f, pred, seconds=20):
    got = f.messages(seconds, lambda m: m[0] == "ota/status" and pred(m[1]))
    return got[-1][1] if got and got[-1][0] == "ota/status" and pred(got[-1][1]) else None


def slot_file(f):
    with open(os.path.join(f.fs, ".ota", "slot")) as fh:
        return fh.read().split()


def test_update_comes_back_with_the_new_build_and_is_kept_once_healthy(field, tmp_path):
    f = field()
    f.deploy(app_dir(tmp_path, "v1"))
    f.start()
    first = f.birth()
    assert first is not None, f.said()
    v2 = app_dir(tmp_path, "v2", extra="\nVERSION = 2\n")
    seen = []
    doc, birth, size, took = f.update(v2, progress=lambda at, total: seen.append(at))
    assert doc["state"] == "switching", doc
    assert birth is not None and birth["build"]["app"] == app_hash(v2) != first["build"]["app"], (birth, f.said())
    assert birth["boot"] == first["boot"] + 1  # the sequence store survived the switch: no number reused
    assert seen and seen == sorted(seen) and seen[-1] == size  # the progress bar's figures
    print("OTA transfer on the virtual board: %d bytes in %.2f s = %.0f bytes/s" % (size, took, size / took))
    assert status(f, lambda d: d.get("healthy") and d["slot"] == "a") is not None, f.said()
    assert slot_file(f) == ["a", "-", "0"]  # committed: no rollback at the next boot
    clean(f)


def clean(f, once=True):
    """Nothing went wrong on the board: no dead letter, no MemoryError (its heap is the
    board's budget), and (``once``) one transfer per update."""
    said = f.said()
    assert "dead letter" not in said and "MemoryError" not in said, said
    ids = [ln.split()[2] for ln in said.splitlines() if ln.startswith("ota: update ") and "complete" not in ln]
    assert not once or len(ids) == len(set(ids)), said


def test_broken_update_rolls_back_after_its_boots(field, tmp_path):
    f = field(conf=(5, 2, 2, 30))  # TRIES=2
    f.deploy(app_dir(tmp_path, "v1"))
    f.start()
    first = f.birth()
    assert first is not None, f.said()
    doc, birth, _, _ = f.update(app_dir(tmp_path, "bad", text=CRASH, module="crash.py"), timeout=30, birth_timeout=0)
    assert doc["state"] == "switching"
    back = f.birth(30, lambda d: d.get("build", {}).get("app") == first["build"]["app"])
    assert back is not None, f.said()
    said = f.said()
    assert said.count("RuntimeError: broken build") == 2, said  # the configured boots, then the rollback
    assert "did not report healthy in 2 boot(s): back to -" in said
    st = status(f, lambda d: "last" in d)
    assert "rolled back from slot a" in st["last"], st
    assert slot_file(f)[0] == "-"
    clean(f)


def test_refusals_leave_the_old_build_running(field, tmp_path):
    f = field()
    f.deploy(app_dir(tmp_path, "v1"))
    f.start()
    first = f.birth()
    assert first is not None, f.said()
    v2 = app_dir(tmp_path, "v2", extra="\nVERSION = 2\n")

    def manifest_byte(m, d):  # after signing: one byte of the manifest changed, in the stream too
        i = m.index(b'"files"') + 12
        m2 = m[:i] + bytes([m[i] ^ 1]) + m[i + 1:]
        return m2, m2 + d[len(m):]

    def file_byte(m, d):  # one byte of the last file changed: the manifest is intact
        return m, d[:-5] + bytes([d[-5] ^ 1]) + d[-4:]

    cases = [(dict(tamper=manifest_byte), "the manifest's signature does not match"),
             (dict(tamper=file_byte), "its sha256 does not match the manifest's"),
             (dict(limit=60000), "the update was cut off in ")]
    for n, (kw, reason) in enumerate(cases, 1):
        doc, birth, _, _ = f.update(v2, timeout=30, **kw)
        assert doc["state"] == "refused" and reason in doc["reason"], doc
        assert doc["refused"] == n and birth is None
        assert publishing(f, first["boot"]), f.said()  # the old build goes on, not restarted
    print("refused: " + "; ".join(r for _, r in cases))
    assert "ota: refused: the update was cut off in " in f.said()
    clean(f, once=False)  # the same update sent three times
    assert slot_file(f) == ["-", "-", "0"]  # never switched: the deployed build runs


def test_update_resumes_after_a_broker_restart(field, tmp_path):
    f = field()
    f.deploy(app_dir(tmp_path, "v1"))
    f.start()
    first = f.birth()
    assert first is not None, f.said()
    v2 = app_dir(tmp_path, "v2", extra="\nVERSION = 2\n")
    cut = []

    def progress(at, total):
        if not cut and at > total // 3:
            cut.append(at)
            f.broker.stop()
            time.sleep(0.5)
            f.broker.start()

    doc, birth, size, _ = f.update(v2, progress=progress, timeout=60)
    assert cut and doc["state"] == "switching", (doc, f.said())
    assert birth is not None and birth["build"]["app"] == app_hash(v2), f.said()
    assert f.said().count("ota: update %s into slot a" % doc["id"]) == 1  # resumed, not started over
    clean(f)


def test_crashing_boots_enter_safe_mode_which_takes_an_update(field, tmp_path):
    f = field()  # K=3
    f.deploy(app_dir(tmp_path, "bad", text=CRASH, module="crash.py"))
    f.start()
    safe = f.birth(40, lambda d: d.get("safe_mode"))
    said = f.said()
    assert safe is not None, said
    assert said.count("RuntimeError: broken build") == 3 and "3 boots in a row did not reach healthy: safe mode" in said
    st = status(f, lambda d: d.get("safe_mode"))
    assert st is not None and st["state"] == "idle"
    v1 = app_dir(tmp_path, "v1")
    doc, birth, _, _ = f.update(v1)
    assert doc["state"] == "switching", doc
    assert birth is not None and birth["build"]["app"] == app_hash(v1) and "safe_mode" not in birth, f.said()
    assert publishing(f, birth["boot"])
    clean(f)
    assert status(f, lambda d: d.get("healthy") and d["slot"] == "a" and not d["safe_mode"]) is not None
    assert slot_file(f) == ["a", "-", "0"]


def rill(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "rill_host.cli"] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_rill_ota_shows_progress_and_reports_the_birth(field, tmp_path):
    f = field()
    f.deploy(app_dir(tmp_path, "v1"))
    f.start()
    assert f.birth() is not None, f.said()
    v2 = app_dir(tmp_path, "v3", extra="\nVERSION = 3\n")
    r = rill("ota", "--app", v2.root, "--device", DEVICE, "--config", f.config, "--key", ota.key_path(f.tmp, DEVICE))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "] 100% " in r.stderr and r.stderr.count("rill ota: [") > 2  # the progress bar, redrawn
    said = r.stdout.splitlines()
    assert said[0].startswith("rill ota: ") and " bytes/s); the board restarts into slot a" in said[0]
    assert "%s is back with the new build" % DEVICE in said[1] and app_hash(v2) in said[1], said
    r = rill("ota", "--app", v2.root, "--device", DEVICE, "--config", f.config, "--key", str(tmp_path / "none.key"))
    assert r.returncode == 1 and r.stderr.startswith("rill ota: error: no usable OTA key at "), r.stderr


def test_deploy_ota_provisions_the_device(tmp_path):
    app = app_dir(tmp_path, "p", module="node.py")  # as sources, no dispatch: a quick plan
    r = rill("deploy", "--port", "/dev/ttyACM7", "--board", "ESP32_GENERIC", "--dry-run", "--source", "--app",
             app.root, "--ota", "dev-9", "--ota-conf", "3", "1", "30", "120")
    assert r.returncode == 0, r.stderr
    for path in (":/.ota/key", ":/.ota/conf", ":/.ota/slot", ":/lib/rill/ota/receiver.py", ":/lib/rill/ota/boot.py"):
        assert path in r.stdout, path
    with open(ota.key_path(app.root, "dev-9")) as fh:
        assert len(bytes.fromhex(fh.read().strip())) == 32  # made once, kept for rill ota
    assert "ota 4 files" in r.stdout
    r = rill("deploy", "--port", "/dev/ttyACM7", "--board", "ESP32_GENERIC", "--dry-run", "--source", "--app", app.root)
    assert r.returncode == 0 and "/.ota/" not in r.stdout and "rill/ota/" not in r.stdout  # not asked: not shipped
