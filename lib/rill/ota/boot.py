"""What main.py decides at each boot of a board with /.ota/key (firmware/main.py):
count the boot, roll a build on trial back when it used its boots up, or choose safe
mode after K boots in a row that did not reach healthy. boot.py has already chosen
the slot (/.ota/slot); a rollback rewrites that file and resets, so boot.py picks the
previous build. Loaded by main.py and unloaded before the app starts."""
from . import BOOTS, LAST, boots, conf, set_slot, slot, write


def woke():
    """True on a wake from deep sleep: not a boot (the board ran fine before it slept)."""
    try:
        import machine

        return machine.reset_cause() == machine.DEEPSLEEP_RESET
    except (ImportError, AttributeError):
        return False


def reset():
    """Restart the board: machine.reset(), else (the unix port, the virtual board) SystemExit."""
    try:
        import machine

        machine.reset()
    except (ImportError, AttributeError):
        pass
    raise SystemExit


def crashed(e):
    """The app raised ``e``: show it, and reset (main.py, on a board with /.ota/key)."""
    import sys

    print("ota: the app crashed: resetting")
    sys.print_exception(e)
    reset()


def check():
    """"app" or "safe" for this boot; resets the board instead when a build on trial
    has used its boots (the previous one runs after). Unloads this module: main.py
    keeps only the answer."""
    import sys

    sys.modules.pop(__name__, None)
    sys.modules["rill.ota"].__dict__.pop("boot", None)
    k, tries, _, _ = conf()
    if woke():
        return "app"  # a wake from deep sleep is no boot: nothing counted, nothing written
    n = boots() + 1
    active, previous, trial = slot()
    if trial and n > trial:
        print("ota: build %s did not report healthy in %d boot(s): back to %s" % (active, trial, previous))
        write(LAST, "rolled back from slot %s: it did not report healthy in %d boot(s)" % (active, trial))
        write(BOOTS, "0")
        set_slot(previous, "-", 0)
        reset()
    write(BOOTS, str(n))
    if k and n > k:
        print("ota: %d boots in a row did not reach healthy: safe mode" % (n - 1))
        return "safe"
    return "app"
