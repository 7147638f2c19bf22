"""firmware/: manifest.py freezes what a board needs (checked by running it with the
manifest API stubbed), and the example config defaults are sane."""
import os

from tooltest import ROOT

FIRMWARE = os.path.join(ROOT, "firmware")


def test_manifest_freezes_the_device_files():
    from deploy import device_files

    calls = []
    api = {name: (lambda name: lambda *a, **kw: calls.append((name, a, kw)))(name)
           for name in ("include", "require", "package", "module", "metadata", "options")}
    cwd = os.getcwd()
    os.chdir(FIRMWARE)  # manifests run from their own folder
    try:
        with open("manifest.py") as f:
            exec(compile(f.read(), "manifest.py", "exec"), api)
    finally:
        os.chdir(cwd)
    kinds = {c[0]: c for c in calls}
    assert ("require", ("umqtt.simple",), {}) in calls
    _, args, kw = kinds["package"]
    assert args == ("rill",) and kw["base_path"] == "../lib"
    assert ["rill/" + f for f in kw["files"]] == device_files()
    assert not any(f.startswith("sim/") or f == "cpython_compat.py" for f in kw["files"])
    for f in kw["files"]:
        assert os.path.exists(os.path.join(ROOT, "lib", "rill", f))
    assert kinds["module"][1] == ("app.py",)


def test_boot_and_main_are_small_and_main_has_a_safe_switch():
    for name in ("boot.py", "main.py"):
        with open(os.path.join(FIRMWARE, name)) as f:
            compile(f.read(), name, "exec")
    with open(os.path.join(FIRMWARE, "main.py")) as f:
        text = f.read()
    assert 'os.stat("safe")' in text and "app.main()" in text
