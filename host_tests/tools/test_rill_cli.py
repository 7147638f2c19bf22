"""The rill command: its own subcommands refuse bad input in one sentence; the others
run the checkout's tool with the same arguments."""
import os
import subprocess

from test_rill_project import rill


def test_no_command_prints_the_commands():
    r = rill()
    assert r.returncode == 2
    for sub in ("new", "test", "build", "deploy", "vboard", "run", "flash", "monitor", "bench"):
        assert "  %s " % sub in r.stdout


def test_an_unknown_command_is_one_sentence():
    r = rill("frobnicate")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown command 'frobnicate'" in r.stderr


def test_tools_get_the_same_arguments():
    r = rill("build", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: rill build ")
    r = rill("monitor", "--port", "/dev/nonexistent-tty")
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_new_refuses_an_unknown_board_and_a_folder_with_files(tmp_path):
    r = rill("new", str(tmp_path / "p"), "--board", "NO_SUCH_BOARD")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = rill("new", str(tmp_path / "full"), "--board", "RPI_PICO")
    assert r.returncode != 0 and "not empty" in r.stderr
    assert os.listdir(tmp_path / "full") == ["keep.txt"]


def test_the_docs_unix_port_command_runs_the_readme_example(tmp_path):
    """docs/testing.md's command line for a pipeline on the unix port, run as written (from
    the checkout) on the README's pipeline (found by examples.py, as the collector finds it)."""
    import examples

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "testing.md")) as f:
        command = [line for line in f.read().splitlines() if line.startswith("MICROPYPATH=")][0].split("#")[0]
    readme = os.path.join(root, "README.md")
    code = examples.source(readme, examples.find(readme, "test_readme.pipeline_in_20_lines"))
    (tmp_path / "example.py").write_text(code + "print(alarms)\n")
    assert rill("build", cwd=root).returncode == 0
    command = command.replace(":. ", ":%s " % tmp_path).replace(" example.py", " %s" % (tmp_path / "example.py"))
    r = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("[30.66"), r.stdout + r.stderr
