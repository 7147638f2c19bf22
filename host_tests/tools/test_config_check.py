"""`rill test`, `rill run` and `rill deploy` read a project's config.json strictly before
anything runs or ships: a trailing comma (which MicroPython's json would take) stops each
with one line naming the file, the line and the key, and nothing starts."""
import pytest

from rill_host.config_check import check
from test_rill_project import rill

BAD = '{\n  "board": "RPI_PICO_W",\n  "device": "gh-1",\n  "every_ms": 700,\n  "window": 3,\n}\n'


@pytest.fixture
def project(tmp_path):
    r = rill("new", str(tmp_path / "gh"), "--board", "RPI_PICO_W", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return tmp_path / "gh"



LINE = 'config.json line 6 (key "window"): not strict JSON: key'


@pytest.mark.parametrize("command", [("test",), ("run", "--app", "."), ("deploy", "--app", ".", "--port", "vboard")])
def test_a_trailing_comma_stops_the_command_before_anything_runs(project, command):
    (project / "config.json").write_text(BAD)
    r = rill(*command, cwd=str(project), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.strip() == "rill %s: %s at 81" % (command[0], LINE), r.stderr
    assert r.stdout == "" and not (project / "build.json").exists()


def test_deploy_checks_the_config_it_is_given(project, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"board": "RPI_PICO_W", "mqtt": {"port": "1883"}}')
    r = rill("deploy", "--app", str(project), "--config", str(other), "--port", "vboard", cwd=str(tmp_path))
    assert r.returncode == 1, r.stderr
    assert 'other.json line 1 (key "mqtt.port"): must be an integer, not a string' in r.stderr, r.stderr


def test_the_scaffolds_own_config_passes(project):
    assert check("run", ["--app", str(project)]) is None
    assert check("deploy", ["--app", str(project), "--port", "vboard"]) is None
    (project / "config.json").write_text(BAD)
    assert check("run", ["--app", str(project)]).startswith("rill run: ")
    assert check("bench", ["--app", str(project)]) is None  # only test, run and deploy read it
