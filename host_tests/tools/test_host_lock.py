"""The host's Python packages are pinned by sha256 (ground rule: fetched by name through pip's
index, pinned by hash): requirements-host.lock pins every package requirements-host.txt names
at the same version, each with its file hashes, and make setup installs from it with
--require-hashes (requirements-docs.txt likewise)."""
import os
import re

from tooltest import ROOT


def _pins(name):
    """{package: (version, number of sha256 hashes)} of a requirements file."""
    with open(os.path.join(ROOT, name)) as f:
        text = f.read().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)(.*)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = (m.group(3), m.group(4).count("--hash=sha256:"))
    return pins


def test_every_host_requirement_is_locked_at_its_version_with_hashes():
    wanted = _pins("requirements-host.txt")
    locked = _pins("requirements-host.lock")
    assert wanted and set(wanted) <= set(locked), sorted(set(wanted) - set(locked))
    assert all(locked[n][0] == v for n, (v, _) in wanted.items()), \
        {n: (v, locked[n][0]) for n, (v, _) in wanted.items() if locked[n][0] != v}
    assert all(hashes for _, hashes in locked.values()), [n for n, (_, h) in locked.items() if not h]
    assert all(hashes for _, hashes in _pins("requirements-docs.txt").values())


def test_setup_installs_both_locks_with_require_hashes():
    with open(os.path.join(ROOT, "Makefile")) as f:
        installs = [line.strip() for line in f if "pip install" in line and " -r " in line]
    assert sorted(installs) == sorted("$(PY) -m pip install -qq --require-hashes -r " + name
                                      for name in ("requirements-host.lock", "requirements-docs.txt")), installs
