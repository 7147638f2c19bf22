"""Fixtures for the host tools' tests: virtual boards that are stopped, with their
whole process group, when the test (or module) ends. Helpers live in tooltest.py."""
import itertools
import os
import shutil
import tempfile

import pytest

from tooltest import VBoard


@pytest.fixture(scope="module")
def vboard(tmp_path_factory):
    """One virtual board (RPI_PICO_W, with the repository's lib/ on its path) per test module."""
    b = VBoard(tmp_path_factory.mktemp("vboard")).start()
    yield b
    b.stop()


@pytest.fixture
def fresh_vboard(tmp_path):
    """A virtual board of one test's own; call ``.start()`` after setting it up."""
    boards = []

    def make(board="RPI_PICO_W", extra=()):
        b = VBoard(tmp_path / ("b%d" % len(boards)), board, extra)
        os.makedirs(b.fs, exist_ok=True)
        boards.append(b)
        return b

    yield make
    for b in boards:
        b.stop()


_DBS = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the session (rill_host.testing.postgres); a test
    takes a database of its own with ``postgres.database(name)``."""
    from rill_host.testing.postgres import Cluster, find_bindir

    if not find_bindir():
        pytest.skip("no PostgreSQL server is installed (apt-get install postgresql; .ci/run does as root)")
    base = tempfile.mkdtemp(prefix="rill-pg-")  # not under pytest's tmp: its parents are root's alone
    c = Cluster(base)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh gateway store of each kind: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "gw.sqlite")
    pg = request.getfixturevalue("postgres")
    return pg.database("t%d" % next(_DBS))

