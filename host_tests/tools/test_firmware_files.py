"""firmware/: boot.py and main.py, and the example config defaults are sane. (What
manifest.py freezes is checked with MicroPython's real manifest tool: test_manifests.py.)"""
import os

from tooltest import ROOT

FIRMWARE = os.path.join(ROOT, "firmware")


def test_boot_and_main_are_small_and_main_has_a_safe_switch():
    for name in ("boot.py", "main.py"):
        with open(os.path.join(FIRMWARE, name)) as f:
            compile(f.read(), name, "exec")
    with open(os.path.join(FIRMWARE, "main.py")) as f:
        text = f.read()
    assert 'os.stat("safe")' in text and "app.main()" in text
