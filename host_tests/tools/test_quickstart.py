"""README "Quick start" as a user walks it: `rill new`, then `rill run --app .` runs the
new project's app on a virtual board at the board's default heap, and its readings
reach a real broker."""
import re

from test_rill_project import rill


def test_a_new_project_runs_on_the_virtual_board_at_the_default_heap(tmp_path):
    project = tmp_path / "greenhouse"
    assert rill("new", str(project), "--board", "RPI_PICO_W", cwd=str(tmp_path)).returncode == 0
    r = rill("run", "--app", ".", "--seconds", "7", cwd=str(project), timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "MemoryError" not in out, out
    assert re.search(r"mqtt  \| devices/greenhouse-1/status +online boot=\d+", out), out
    temps = re.findall(r"mqtt  \| greenhouse/greenhouse-1/temp +seq=(\d+) +(\d+\.\d+)", out)
    assert len(temps) >= 2 and abs(float(temps[-1][1]) - 22.0) < 1.0, out
    summary = r.stdout.strip().splitlines()[-1]
    assert re.match(r"run_example: \d+ messages in [\d.]+ s \(status \d+, temp \d+\); seq \d+\.\.\d+, 0 gaps",
                    summary), summary
