"""firmware/: manifest.py freezes what a board needs (checked by running it with the
manifest API stubbed), and the example config defaults are sane."""
import os

from tooltest import ROOT

FIRMWARE = os.path.join(ROOT, "firmware")


def _run_manifest(path, calls):
    """Run a manifest with MicroPython's manifest API stubbed, following include()s as the freezer does."""
    def stub(name):
        return lambda *a, **kw: calls.append((name, os.getcwd(), a, kw))

    api = {name: stub(name) for name in ("require", "package", "module", "metadata", "options")}

    def include(p):
        calls.append(("include", os.getcwd(), (p,), {}))
        if not p.startswith("$("):
            _run_manifest(os.path.join(os.getcwd(), p, "manifest.py"), calls)

    api["include"] = include
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))  # manifests run from their own folder
    try:
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), api)
    finally:
        os.chdir(cwd)


def test_manifest_freezes_what_the_app_imports_and_nothing_unpinned():
    from packages import needed

    calls = []
    _run_manifest(os.path.join(FIRMWARE, "manifest.py"), calls)
    frozen = set()
    for kind, where, args, kw in calls:
        if kind == "package":
            base = os.path.normpath(os.path.join(where, kw["base_path"]))
            for f in kw["files"]:
                assert os.path.exists(os.path.join(base, args[0], f)), f
                frozen.add(os.path.relpath(os.path.join(base, args[0], f), ROOT))
    assert not any(c[0] == "require" for c in calls)  # nothing unpinned from micropython-lib
    names, deps = needed([os.path.join(FIRMWARE, "app.py")])
    from packages import Model

    want = {os.path.join("lib", f) for f in Model().files(names)}
    assert {f for f in frozen if f.startswith("lib")} == want
    assert deps == [] and not [f for f in frozen if "umqtt" in f]  # rill.mqtt needs no micropython-lib package
    assert not any("/sim/" in f or f.endswith("cpython_compat.py") for f in frozen)
    assert ("module", FIRMWARE, ("app.py",), {}) in calls


def test_boot_and_main_are_small_and_main_has_a_safe_switch():
    for name in ("boot.py", "main.py"):
        with open(os.path.join(FIRMWARE, name)) as f:
            compile(f.read(), name, "exec")
    with open(os.path.join(FIRMWARE, "main.py")) as f:
        text = f.read()
    assert 'os.stat("safe")' in text and "app.main()" in text
