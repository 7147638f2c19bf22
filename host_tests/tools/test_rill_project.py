"""A user's project, outside the checkout: `rill new`, then `rill test` runs its tests on
every runtime and says what ran, failures on one runtime included; without a 32-bit
MicroPython one line says so and the others run."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from rill_host import common

RILL = os.path.join(os.path.dirname(sys.executable), "rill")


HAS32 = common.micropython32_exe()[0] is not None  # then rill test runs a third runtime, micropython32
RUNTIMES = ("cpython", "micropython") + (("micropython32",) if HAS32 else ())


def rill(*args, cwd=None, timeout=300, env=None):
    if not os.path.exists(RILL):
        pytest.skip("no rill command beside %s; run 'make setup'" % sys.executable)
    return subprocess.run([RILL] + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def counts(out, label):
    m = re.search(r"^%s passed=(\d+) failed=(\d+) skipped=(\d+)$" % re.escape(label), out, re.M)
    assert m, "no %s line in:\n%s" % (label, out)
    return tuple(int(x) for x in m.groups())


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "greenhouse"
    r = rill("new", str(folder), "--board", "RPI_PICO_W", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return folder


def write(folder, rel, text):
    (folder / rel).write_text(textwrap.dedent(text))


BOARDS = sorted(os.listdir(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                         "boards")))
BOARDS = [b for b in BOARDS if b.upper() == b]


@pytest.mark.parametrize("board", BOARDS)
def test_a_new_project_passes_its_tests_on_every_runtime(tmp_path, board):
    """On every board: its heap budget is MicroPython's heap here (exactly, on 32 bits)."""
    project = tmp_path / "greenhouse"
    assert rill("new", str(project), "--board", board, cwd=str(tmp_path)).returncode == 0
    assert sorted(os.listdir(project)) == [".gitignore", "README.md", "app.py", "config.json", "main.py",
                                           "pytest.ini", "tests"]
    r = rill("test", cwd=str(project))
    assert r.returncode == 0, r.stdout + r.stderr
    for runtime in RUNTIMES:
        passed, failed, _ = counts(r.stdout, "runtime=" + runtime)
        assert passed >= 2 and failed == 0, r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("%d passed" % (2 * len(RUNTIMES))), r.stdout  # pytest's, last


def test_without_a_32_bit_micropython_one_line_says_so_and_the_rest_run(project):
    r = rill("test", cwd=str(project), env={"RILL_MICROPYTHON32": "/nowhere/micropython32"})
    assert r.returncode == 0, r.stdout + r.stderr
    said = [ln for ln in r.stdout.splitlines() if "micropython32" in ln]
    assert said == ["runtime=micropython32 not run: no 32-bit MicroPython at /nowhere/micropython32 "
                    "(RILL_MICROPYTHON32); to get one, " + common.GET_MICROPYTHON32], r.stdout
    assert counts(r.stdout, "runtime=cpython") == counts(r.stdout, "runtime=micropython") == (2, 0, 0), r.stdout
    assert "[micropython32]" not in r.stdout


def test_a_failure_on_micropython_only_fails_the_run_and_shows_there(project):
    write(project, "tests/test_runtime.py", '''
        import sys


        def test_not_on_micropython():
            assert sys.implementation.name != "micropython", "fails on MicroPython only"
    ''')
    r = rill("test", cwd=str(project))
    assert r.returncode != 0, r.stdout
    assert counts(r.stdout, "runtime=cpython") == (3, 0, 0), r.stdout
    for runtime in RUNTIMES[1:]:
        assert counts(r.stdout, "runtime=" + runtime) == (2, 1, 0), r.stdout
    assert "fails on MicroPython only" in r.stdout


def test_opt_outs_and_skips_are_counted_on_their_own_line(project):
    write(project, "tests/test_host_only.py", '''
        import pytest

        RILL_RUNTIMES = ("cpython",)  # this module uses pytest itself


        def test_host():
            assert True


        @pytest.mark.skip(reason="shown, not hidden")
        def test_skipped():
            pass
    ''')
    write(project, "tests/test_one_opt_out.py", '''
        from testkit import cpython_only


        @cpython_only
        def test_host_only():
            assert True


        def test_everywhere():
            assert True
    ''')
    r = rill("test", cwd=str(project))
    assert r.returncode == 0, r.stdout + r.stderr
    assert counts(r.stdout, "runtime=cpython") == (3, 0, 0), r.stdout
    for runtime in RUNTIMES[1:]:
        assert counts(r.stdout, "runtime=" + runtime) == (3, 0, 0), r.stdout
    assert counts(r.stdout, "suite=tests") == (2, 0, 1), r.stdout


def test_a_memory_error_names_the_heap_and_how_to_change_it(project):
    with open(project / "pytest.ini", "a") as f:
        f.write("rill_heap = 64K\n")
    write(project, "tests/test_big.py", '''
        def test_big_buffer():
            assert len(bytearray(200000)) == 200000
    ''')
    r = rill("test", "tests/test_big.py", cwd=str(project))
    assert r.returncode != 0
    assert counts(r.stdout, "runtime=micropython") == (0, 1, 0), r.stdout
    assert "heap here is 64K (rill_heap in" in r.stdout and "MP_HEAPSIZE" in r.stdout, r.stdout


def test_the_board_sets_the_heap(project):
    write(project, "tests/test_heap.py", '''
        import gc
        import sys


        def test_heap_is_the_boards_budget():
            gc.collect()
            total = gc.mem_free() + gc.mem_alloc()
            if sys.maxsize > 2 ** 32:
                assert 230 * 1024 < total <= 240 * 1024, total  # RPI_PICO_W: 160 KB x 1.5 on 64 bits
            else:
                assert 155 * 1024 < total <= 160 * 1024, total  # RPI_PICO_W: 160 KB as it is on 32 bits
    ''')
    r = rill("test", "tests/test_heap.py", "-k", "micropython", cwd=str(project))
    assert r.returncode == 0, r.stdout
    for runtime in RUNTIMES[1:]:
        assert counts(r.stdout, "runtime=" + runtime) == (1, 0, 0), r.stdout


def test_a_module_that_imports_pytest_is_told_how_to_stay_on_cpython(project):
    write(project, "tests/test_uses_pytest.py", '''
        import pytest


        def test_host():
            assert pytest
    ''')
    r = rill("test", "tests/test_uses_pytest.py", cwd=str(project))
    assert r.returncode != 0
    assert counts(r.stdout, "runtime=micropython") == (0, 1, 0), r.stdout
    assert 'RILL_RUNTIMES = ("cpython",)' in r.stdout, r.stdout
