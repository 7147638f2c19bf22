"""Fixtures for the host tools' tests: virtual boards that are stopped, with their
whole process group, when the test (or module) ends. Helpers live in tooltest.py."""
import os

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
