"""The runtimes of `rill test` (tools/rill_host/testing/runtimes.py) and the word size behind every
heap figure: the 32-bit port's lookup, each binary's heap scale asked of the binary itself
(never of this CPython), each runtime's heap rule, and the virtual board's heap."""
import os
import sys
import types

import pytest

from rill_host import common
from rill_host.testing import runtimes
from rill_host.vboard import cli as vboard
from tooltest import ROOT

MP64 = common.tool("micropython")
MP32 = common.micropython32_exe()[0]


def fake_port(tmp_path, name, maxsize, calls=None):
    """A stand-in binary that answers ``-c ...sys.maxsize...`` with ``maxsize`` (and counts its runs)."""
    path = tmp_path / name
    count = 'echo run >> "%s"\n' % calls if calls else ""
    path.write_text("#!/bin/sh\n%secho %d\n" % (count, maxsize))
    path.chmod(0o755)
    return str(path)


def test_the_32_bit_port_is_looked_up_option_then_env_then_beside_the_checkout(tmp_path, monkeypatch):
    beside = os.path.join(os.path.dirname(ROOT), "shared", "micropython", "micropython32")
    assert common.SHARED_MICROPYTHON32 == beside  # this repository's ../shared; a user's machine has none
    a, b, shared = (fake_port(tmp_path, n, 2 ** 31 - 1) for n in ("a", "b", "shared"))
    monkeypatch.setattr(common, "SHARED_MICROPYTHON32", shared)
    monkeypatch.setenv("RILL_MICROPYTHON32", b)
    assert common.micropython32_exe(a) == (a, None)
    assert common.micropython32_exe() == (b, None)
    monkeypatch.delenv("RILL_MICROPYTHON32")
    assert common.micropython32_exe() == (shared, None)


def test_a_named_port_that_is_missing_or_64_bit_is_not_passed_over(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "SHARED_MICROPYTHON32", fake_port(tmp_path, "shared", 2 ** 31 - 1))
    monkeypatch.setenv("RILL_MICROPYTHON32", str(tmp_path / "nowhere"))
    said = "no 32-bit MicroPython at %s (RILL_MICROPYTHON32)" % (tmp_path / "nowhere")
    assert common.micropython32_exe() == (None, said)
    wide = fake_port(tmp_path, "wide", 2 ** 63 - 1)
    assert common.micropython32_exe(wide) == (None, "%s is not a 32-bit MicroPython (64-bit)" % wide)


def test_a_fresh_machine_without_shared_has_no_32_bit_port(tmp_path, monkeypatch):
    monkeypatch.delenv("RILL_MICROPYTHON32", raising=False)
    monkeypatch.setattr(common, "SHARED_MICROPYTHON32", str(tmp_path / "shared" / "micropython" / "micropython32"))
    assert common.micropython32_exe() == (None, "no 32-bit MicroPython found")


def test_the_heap_scale_comes_from_the_binary_asked_once(tmp_path):
    calls = tmp_path / "calls"
    narrow = fake_port(tmp_path, "narrow", 2 ** 31 - 1, calls)
    assert sys.maxsize > 2 ** 32  # this CPython is 64-bit, and says nothing about the port
    assert (common.heap_scale(narrow), common.word_bits(narrow), common.mpy_arch(narrow)) == (1.0, 32, "x86")
    assert calls.read_text() == "run\n"  # asked once, then remembered
    wide = fake_port(tmp_path, "wide", 2 ** 63 - 1)
    assert (common.heap_scale(wide), common.mpy_arch(wide)) == (1.5, "x64")


@pytest.mark.skipif(not (MP64 and MP32), reason="needs both unix ports")
def test_the_real_ports_say_their_word_size():
    assert (common.word_bits(MP64), common.heap_scale(MP64)) == (64, 1.5)
    assert (common.word_bits(MP32), common.heap_scale(MP32)) == (32, 1.0)


class Config:
    def __init__(self, **ini):
        self.ini = ini
        self.inipath = "pytest.ini"

    def getini(self, name):
        return self.ini.get(name, "")


def module(**attrs):
    return types.SimpleNamespace(__file__="/p/test_m.py", **attrs)


def test_the_32_bit_heap_is_the_boards_budget_exactly():
    rt = runtimes.Unix32()
    assert rt.heap(Config(), module(), "RPI_PICO_W") == ("128K", "the default (no rill_board set)")
    assert rt.heap(Config(), module(MP_HEAPSIZE="256K"), "RPI_PICO_W")[0] == "160K"  # the board it stands for
    assert rt.heap(Config(rill_board="ESP32_GENERIC"), module(MP_HEAPSIZE="256K"), "ESP32_GENERIC") == (
        "110K", "board ESP32_GENERIC: heap_budget_kb 110")
    ini = Config(rill_board="RPI_PICO", rill_heap="512K", rill_heap32="150K")
    assert rt.heap(ini, module(), "RPI_PICO")[0] == "150K"
    big = module(MP_HEAPSIZE32="200K", MP_HEAPSIZE32_WHY="measured 196K")
    assert rt.heap(Config(rill_board="RPI_PICO"), big, "RPI_PICO") == (
        "200K", "MP_HEAPSIZE32 in test_m.py: measured 196K")
    with pytest.raises(pytest.UsageError, match="MP_HEAPSIZE32 without MP_HEAPSIZE32_WHY"):
        rt.heap(Config(), module(MP_HEAPSIZE32="200K"), "RPI_PICO_W")


def test_the_64_bit_heap_scales_the_budget_by_the_binarys_word_size(tmp_path):
    rt = runtimes.Unix64()
    for maxsize, heap in ((2 ** 63 - 1, "240K"), (2 ** 31 - 1, "160K")):
        exe = fake_port(tmp_path, "port%d" % maxsize, maxsize)
        rt.exe = lambda exe=exe: exe
        assert rt.heap(Config(rill_board="RPI_PICO_W"), module(), "RPI_PICO_W")[0] == heap
    assert rt.heap(Config(rill_board="RPI_PICO_W"), module(MP_HEAPSIZE="256K"), "RPI_PICO_W")[0] == "256K"


def test_every_runtime_has_a_name_an_availability_and_a_runner(tmp_path):
    assert [rt.name for rt in runtimes.table()] == ["cpython", "micropython", "micropython32"]
    nowhere = types.SimpleNamespace(getoption=lambda name, default=None: str(tmp_path / "nowhere"))
    cpython, unix64, unix32 = runtimes.table()
    assert cpython.available(nowhere) is None and cpython.run is None  # pytest runs it in this process
    assert unix64.available(nowhere) is None and unix64.run  # required: its absence is a usage error
    why = unix32.available(nowhere)
    assert why.startswith("no 32-bit MicroPython at %s (given); to get one, " % (tmp_path / "nowhere")), why
    assert "RILL_MICROPYTHON32" in why and "MICROPY_FORCE_32BIT=1" in why and "\n" not in why
    narrow = types.SimpleNamespace(getoption=lambda name, default=None: fake_port(tmp_path, "narrow", 2 ** 31 - 1))
    assert unix32.available(narrow) is None and unix32.exe() == str(tmp_path / "narrow")


@pytest.mark.parametrize("maxsize,heap", [(2 ** 63 - 1, "240K"), (2 ** 31 - 1, "160K")])
def test_the_virtual_boards_heap_follows_its_binary(tmp_path, maxsize, heap):
    exe = fake_port(tmp_path, "port", maxsize)
    argv = ["--board", "RPI_PICO_W", "--fs", str(tmp_path / "fs"), "--micropython", exe]
    args = vboard.build_parser().parse_args(argv)
    b = vboard.prepare(args)
    try:
        assert b.heap == heap
        assert b.heap_why.endswith("on %d-bit MicroPython" % (64 if maxsize > 2 ** 32 else 32)), b.heap_why
    finally:
        b.close()


def test_the_virtual_board_takes_the_32_bit_port_when_there_is_one(tmp_path, monkeypatch):
    narrow = fake_port(tmp_path, "narrow", 2 ** 31 - 1)
    monkeypatch.setenv("RILL_MICROPYTHON32", narrow)
    assert common.board_micropython() == narrow
    monkeypatch.setenv("RILL_MICROPYTHON32", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MICROPYTHON", MP64 or "/usr/bin/true")
    assert common.board_micropython() == (MP64 or "/usr/bin/true")
    assert common.board_micropython("/given") == "/given"
