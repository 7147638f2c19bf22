"""An app's heap on its board, estimated before it ships: what `rill build --app` and
`rill deploy` print, with a warning when the app will not fit.

    from rill_host.build import heap_budget
    print(heap_budget.report(app, "ESP32_GENERIC"))     # app: a deploy_plan.App

The figures are 32-bit MicroPython measurements that ``make bench`` writes to
tools/rill_host/build/heap_figures.json (tools/rill_host/bench/heap32.py): the import cost of the core, of each
library module beyond it (rill.mqtt.* beyond rill.mqtt too), of the simulator, and per
board the smallest heap a `rill new` project really ran in for 30 s against a broker.
The estimate is

    core + the library modules the app imports + running(app)

where running(app) (the app's own code, its buffers and the bridge's, build()) grows
with the app's own code: a + b * (bytes of the app's modules as .mpy), fitted per
board on the two measured apps (the `rill new` project and firmware/app.py), each
taken without its library imports and without the simulator (a board has drivers
instead). For those two apps it gives back their measured figures minus the
simulator. A board without networking never loads rill.mqtt (build() refuses MQTT
there); one without a measured example takes the slope of a board with one.
"""
import json
import os
import tempfile

from rill_host.build.mpy import compile_file
from rill_host import EXAMPLE as EXAMPLE_DIR
from rill_host import PKG
from rill_host.common import ROOT, load_board

TEMPLATE = os.path.join(PKG, "template", "app.py")
EXAMPLE = os.path.join(EXAMPLE_DIR, "app.py")

FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heap_figures.json")
WARN_SHARE = 0.8  # above this share of the budget: a note that little is left


def load_figures(path=FIGURES):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _modules(files, network, figures):
    """The measured library modules ``files`` import (not the core, not rill.mqtt offline)."""
    from rill_host.build.packages import Model, app_modules

    mods, _ = app_modules(files, Model())
    known = figures["modules"]
    return sorted(m for m in mods if m in known and (network or not m.startswith("rill.mqtt")))


def _imports(mods, figures):
    return figures["core"] + sum(figures["modules"][m] for m in mods)


def app_bytes(files):
    """Bytes of ``files`` as bytecode .mpy (what an app's own code weighs)."""
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            out = os.path.join(tmp, "%d.mpy" % i)
            compile_file(path, out, None)
            total += os.path.getsize(out)
    return total


def _running(figures, board, network):
    """(a, b, board measured) of running(app) = a + b * app bytes, for ``board``."""
    apps, sizes = figures["apps"], figures["app_bytes"]

    def point(b, kind, path):
        v = apps[b]
        net = v.get("network") not in (None, "none")
        imports = _imports(_modules([path], net, figures), figures)
        return sizes[kind], v[kind + "_kb"] * 1024 - figures["sim"] - imports

    slopes = []
    for b, v in sorted(apps.items()):
        if v.get("scaffold_kb") and v.get("example_kb"):
            (x0, y0), (x1, y1) = point(b, "scaffold", TEMPLATE), point(b, "example", EXAMPLE)
            slopes.append((b, (y1 - y0) / float(x1 - x0)))
    if not slopes:
        return None
    ref = board if board in apps and apps[board].get("scaffold_kb") else next(
        (b for b, v in sorted(apps.items()) if v.get("scaffold_kb")
         and (v.get("network") not in (None, "none")) == network), None)
    if ref is None:
        return None
    slope = dict(slopes).get(ref, slopes[0][1])
    x0, y0 = point(ref, "scaffold", TEMPLATE)
    return y0 - slope * x0, slope, ref


def estimate(files, board, figures=None):
    """{"kb", "budget_kb", "imports_kb", "running_kb", "modules", "reference"} for an app of
    ``files`` (its .py modules) on ``board``; None without figures to estimate from."""
    figures = figures or load_figures()
    if not figures or not figures.get("apps"):
        return None
    info = load_board(board)
    network = info.get("network") not in (None, "none")
    fit = _running(figures, board, network)
    if fit is None:
        return None
    a, b, ref = fit
    mods = _modules(files, network, figures)
    imports = _imports(mods, figures)
    running = a + b * app_bytes(files)
    return {"kb": int(imports + running + 1023) // 1024, "budget_kb": info.get("heap_budget_kb"),
            "imports_kb": round(imports / 1024.0, 1), "running_kb": round(running / 1024.0, 1), "modules": mods,
            "reference": ref}


def report(app, board, figures=None):
    """The lines to print for ``app`` (a deploy_plan.App) on ``board``: the estimate against
    the budget, and a WARNING line when it does not fit."""
    files = [p for rel, p in sorted(app.modules.items()) if rel not in ("boot.py", "main.py")]
    est = estimate(files, board, figures)
    if est is None:
        return "heap: no estimate (no measured figures in %s: run make bench)" % os.path.relpath(FIGURES, ROOT)
    budget = est["budget_kb"]
    line = ("heap: about %d KB of %s's %s KB budget (imports %.1f KB: core%s; running %.1f KB; "
            "32-bit figures measured on %s)"
            % (est["kb"], board, budget, est["imports_kb"], "".join(", " + m for m in est["modules"]),
               est["running_kb"], est["reference"]))
    if budget and est["kb"] > budget:
        line += ("\nheap: WARNING: this app will not fit: it needs about %d KB, %d KB more than %s's %d KB heap; "
                 "expect MemoryError on the board (import less, or freeze the library into the firmware)"
                 % (est["kb"], est["kb"] - budget, board, budget))
    elif budget and est["kb"] > WARN_SHARE * budget:
        line += "\nheap: note: only %d KB of %s's heap is left for what the app allocates itself" % (
            budget - est["kb"], board)
    return line
