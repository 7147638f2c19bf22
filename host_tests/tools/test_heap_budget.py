"""tools/rill_host/build/heap_budget.py: `rill build --app`/`rill deploy` print an app's estimated heap
against its board's budget, from the 32-bit figures make bench writes
(tools/rill_host/build/heap_figures.json), and warn before an app that will not fit ships."""
import copy
import os

import pytest

from rill_host.build import heap_budget
from rill_host.deploy.plan import FIRMWARE, App
from tooltest import tool


@pytest.fixture
def figures():
    f = heap_budget.load_figures()
    if not f or not f.get("apps"):
        pytest.skip("no measured figures in tools/rill_host/build/heap_figures.json (make bench writes them)")
    return f


@pytest.mark.parametrize("kind", ["scaffold", "example"])
def test_the_measured_apps_are_estimated_at_their_measured_heap(figures, kind):
    path = heap_budget.TEMPLATE if kind == "scaffold" else heap_budget.EXAMPLE
    for board, v in figures["apps"].items():
        if v.get(kind + "_kb"):
            est = heap_budget.estimate([path], board, figures)
            without_sim = v[kind + "_kb"] - figures["sim"] / 1024.0  # a board has drivers, not the simulator
            assert abs(est["kb"] - without_sim) <= 1.5, (board, kind, est, without_sim)


def test_an_app_over_budget_gets_a_warning_and_one_inside_none(figures, tmp_path):
    (tmp_path / "app.py").write_text("from rill import Pipeline\nfrom rill.mqtt import Bridge\n"
                                     "from rill.io.recorder import Recorder\n")
    app = App(str(tmp_path))
    est = heap_budget.estimate([str(tmp_path / "app.py")], "ESP32_GENERIC", figures)
    assert est["modules"] == ["rill.io", "rill.io.recorder", "rill.mqtt"]
    tight = copy.deepcopy(figures)
    tight["modules"]["rill.io.recorder"] += (est["budget_kb"] - est["kb"] + 5) * 1024  # 5 KB over the budget
    said = heap_budget.report(app, "ESP32_GENERIC", tight)
    assert "WARNING: this app will not fit" in said and "ESP32_GENERIC's 110 KB" in said, said
    roomy = copy.deepcopy(figures)
    roomy["modules"]["rill.io.recorder"] -= (est["kb"] - est["budget_kb"] // 2) * 1024  # half the budget
    said = heap_budget.report(app, "ESP32_GENERIC", roomy)
    assert said.startswith("heap: about %d KB of ESP32_GENERIC's 110 KB budget" % (est["budget_kb"] // 2)), said
    assert "WARNING" not in said and "note" not in said


def test_a_board_without_network_never_counts_mqtt(figures):
    est = heap_budget.estimate([heap_budget.TEMPLATE], "RPI_PICO", figures)
    assert "rill.mqtt" not in est["modules"] and "rill.drivers.sht3x" in est["modules"]


def test_without_figures_it_says_so(tmp_path):
    said = heap_budget.report(App(FIRMWARE), "ESP32_GENERIC", {"apps": {}})
    assert said.startswith("heap: no estimate")


def test_deploy_prints_the_estimate_before_any_upload(figures):
    r = tool("deploy.py", "--port", "/dev/ttyACM7", "--board", "ESP32_GENERIC", "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    heap = next(i for i, ln in enumerate(lines) if ln.startswith("heap: about"))
    upload = next(i for i, ln in enumerate(lines) if "mpremote connect" in ln)
    assert heap < upload, r.stdout


def test_build_prints_the_estimate_for_an_app(figures, tmp_path):
    r = tool("build.py", "--board", "RPI_PICO", "--app", FIRMWARE, "--out", str(tmp_path / "mpy"))
    assert r.returncode == 0, r.stderr
    assert "heap: about" in r.stdout and "RPI_PICO's 190 KB budget" in r.stdout
    assert os.path.exists(tmp_path / "mpy" / "build.json")
