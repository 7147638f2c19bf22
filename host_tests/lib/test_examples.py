"""Every ```python block in README.md and docs/*.md runs (examples.py finds them): device
code on CPython and on the MicroPython ports, host code (marked ``host``) on CPython, each
in a fresh folder; a block marked ``skip`` is reported skipped with its reason, and a
``check`` marker hands the block (``run`` and its code) to a function that asserts what it should produce.

The tests are made at import, one per block, named after its file and fence line
(``test_docs_mqtt_md_12``), so every runtime runs the same list."""
import os
import sys
import time

import examples
import rill  # noqa: F401  (on CPython: time.ticks_us, as on MicroPython)

MICROPYTHON = sys.implementation.name == "micropython"
MP_HEAPSIZE = "256K"  # the capture example runs the template's app: a driver, filters and two graphs
ROOT = examples.ROOT
BAD = []  # (path, line, why) of markers that do not parse
_count = [0]


def _remove(path):
    for name in os.listdir(path):
        p = path + "/" + name
        if os.stat(p)[0] & 0x4000:  # a folder (CPython's __pycache__)
            _remove(p)
        else:
            os.remove(p)
    os.rmdir(path)


def run_block(path, line, check=None):
    """Run the block at ``path``:``line`` in a new folder (removed after), through ``check``."""
    code = examples.source(ROOT + "/" + path, line)
    _count[0] += 1
    folder = "/tmp/rill-example-%d-%d" % (time.ticks_us(), _count[0])
    os.mkdir(folder)
    os.chdir(folder)
    sys.path.insert(0, folder)
    try:
        def run(files=None):
            for name, text in (files or {}).items():
                if "/" in name and not os.path.isdir(name.rsplit("/", 1)[0]):
                    os.mkdir(name.rsplit("/", 1)[0])
                with open(name, "w") as f:
                    f.write(text)
            scope = {"__name__": "example"}
            exec(code, scope)
            return scope

        if check:
            module, _, fn = check.rpartition(".")
            getattr(__import__(module), fn)(run, code)
        else:
            run()
    finally:
        sys.path.remove(folder)
        sys.modules.pop("app", None)
        os.chdir(ROOT)
        _remove(folder)


def _make(path, line, how):
    if "skip" in how:
        def test():
            import pytest

            pytest.skip("%s:%d: %s" % (path, line, how["skip"]))
    else:
        def test():
            run_block(path, line, how.get("check"))
    if ("skip" in how or "host" in how) and not MICROPYTHON:
        test.rill_runtimes = ("cpython",)
    return test


def _collect():
    made = 0
    for path in examples.files(ROOT):
        for line, marker in examples.blocks(ROOT + "/" + path):
            try:
                how = examples.parse(marker)
            except ValueError as e:
                BAD.append((path, line, str(e)))
                continue
            name = "test_" + path.replace("/", "_").replace(".", "_").replace("-", "_") + "_%d" % line
            globals()[name] = _make(path, line, how)
            made += 1
    return made


COUNT = _collect()


def test_every_marker_is_known_and_there_are_examples():
    assert not BAD, BAD
    assert COUNT >= 10, COUNT
