"""A user's project, outside the checkout: `rill new`, then `rill test` runs its tests on
both runtimes and says what ran, failures on one runtime included."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

RILL = os.path.join(os.path.dirname(sys.executable), "rill")


def rill(*args, cwd=None, timeout=300):
    if not os.path.exists(RILL):
        pytest.skip("no rill command beside %s; run 'make setup'" % sys.executable)
    return subprocess.run([RILL] + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


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
def test_a_new_project_passes_its_tests_on_both_runtimes(tmp_path, board):
    """On every board: its heap budget is MicroPython's heap here."""
    project = tmp_path / "greenhouse"
    assert rill("new", str(project), "--board", board, cwd=str(tmp_path)).returncode == 0
    assert sorted(os.listdir(project)) == [".gitignore", "README.md", "app.py", "config.json", "main.py",
                                           "pytest.ini", "tests"]
    r = rill("test", cwd=str(project))
    assert r.returncode == 0, r.stdout + r.stderr
    for runtime in ("cpython", "micropython"):
        passed, failed, _ = counts(r.stdout, "runtime=" + runtime)
        assert passed >= 2 and failed == 0, r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("4 passed"), r.stdout  # pytest's own line, last


def test_a_failure_on_micropython_only_fails_the_run_and_shows_there(project):
    write(project, "tests/test_runtime.py", '''
        import sys


        def test_not_on_micropython():
            assert sys.implementation.name != "micropython", "fails on MicroPython only"
    ''')
    r = rill("test", cwd=str(project))
    assert r.returncode != 0, r.stdout
    assert counts(r.stdout, "runtime=cpython") == (3, 0, 0), r.stdout
    assert counts(r.stdout, "runtime=micropython") == (2, 1, 0), r.stdout
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
    assert counts(r.stdout, "runtime=micropython") == (3, 0, 0), r.stdout
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


        def test_heap_is_the_boards_budget():
            gc.collect()
            total = gc.mem_free() + gc.mem_alloc()
            assert 230 * 1024 < total <= 240 * 1024, total  # RPI_PICO_W: 160 KB x 1.5
    ''')
    r = rill("test", "tests/test_heap.py", "-k", "micropython", cwd=str(project))
    assert r.returncode == 0, r.stdout


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
