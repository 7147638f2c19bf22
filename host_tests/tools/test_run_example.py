"""`make run` end to end: broker, virtual board with the deployed firmware, MQTT both ways."""
import re

from rill_host import common
from test_rill_project import rill
from tooltest import make_project, tool

# The board's own budget on a 32-bit MicroPython when there is one, else x1.5 on the 64-bit port.
HEAP = ("(heap 160K: the 160K budget on 32-bit MicroPython)" if common.micropython32_exe()[0]
        else "(heap 240K: 160K budget x1.5 on 64-bit MicroPython)")


def test_run_example_publishes_and_takes_a_command():
    r = tool("run_example.py", "--seconds", "5", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "virtual board RPI_PICO_W on " in out and HEAP + ", firmware/ deployed as .mpy" in out, out
    assert re.search(r"mqtt  \| rill/vboard-rpi_pico_w/status +online", out), out
    assert re.search(r"mqtt  \| rill/vboard-rpi_pico_w/temp +seq=\d+ +\d+\.\d+", out), out
    assert "board | app: command" in out  # the inbound command reached the pipeline
    summary = out.strip().splitlines()[-1]
    m = re.match(r"rill run: (\d+) messages in [\d.]+ s \(.*\); seq (\d+)\.\.(\d+), 0 gaps, 0 duplicates; "
                 r"command applied$", summary)
    assert m, summary
    assert int(m.group(1)) >= 5


def test_run_a_projects_app(tmp_path):
    proj = make_project(tmp_path, 9, device="proj-run")  # run_example points it at its own broker
    r = tool("run_example.py", "--app", proj, "--seconds", "4", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"mqtt  \| proj/proj-run/n +seq=\d+ +\d+", r.stdout), r.stdout
    assert "board | proj: running" in r.stdout and HEAP in r.stdout, r.stdout
    summary = r.stdout.strip().splitlines()[-1]
    assert re.match(r"rill run: \d+ messages in [\d.]+ s \(.*n \d+.*\); seq \d+\.\.\d+, 0 gaps", summary), summary


def test_without_a_32_bit_micropython_the_board_runs_on_64_bits_scaled(tmp_path, monkeypatch):
    monkeypatch.setenv("RILL_MICROPYTHON32", str(tmp_path / "nowhere"))
    proj = make_project(tmp_path, 9, device="proj-run")
    r = tool("run_example.py", "--app", proj, "--seconds", "2", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(heap 240K: 160K budget x1.5 on 64-bit MicroPython)" in r.stdout, r.stdout


def test_the_deployed_build_names_the_config_the_board_has(tmp_path):
    # issue 18: the example's birth said "config": "none" although the board has a config.json
    import hashlib
    import json

    from rill_host.deploy.plan import FIRMWARE, App
    from rill_host.vboard import run as run_example

    fs = str(tmp_path / "fs")
    run_example.deploy(fs, "RPI_PICO_W", App(FIRMWARE), {"device": "d1", "broker": "127.0.0.1"}, True)
    with open(tmp_path / "fs" / "config.json", "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with open(tmp_path / "fs" / "build.json") as f:
        assert json.load(f)["config"] == want


def test_a_graph_problem_is_the_last_thing_rill_run_says(tmp_path):
    """The board's GraphError lists its problems; `rill run` ends with them, not with the bare
    'GraphError: 2 problem(s) in pipeline:' line."""
    assert rill("new", str(tmp_path / "p"), "--board", "RPI_PICO_W").returncode == 0
    app = tmp_path / "p" / "app.py"
    text = app.read_text()
    anchor = '    p.transform("temp", _celsius, "air", name="celsius")\n'
    assert anchor in text
    app.write_text(text.replace(anchor, anchor + '    p.transform("odd", lambda v: v, "nosuch", name="stray")\n'))
    r = rill("run", "--app", str(tmp_path / "p"), "--seconds", "3", timeout=90)
    assert r.returncode == 1, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()
    assert last[0].startswith("rill run: error: "), r.stderr
    assert last[0].endswith("GraphError: 2 problem(s) in pipeline:"), r.stderr
    assert last[1:] == ["  - transform stray -> odd: unknown record 'odd'",
                        "  - nosuch -> transform stray: unknown record 'nosuch'."], r.stderr
