"""Field updates: OTA updates into a second slot with rollback, and safe mode.

Everything lives in the folder ``/.ota`` at the root of the board's filesystem, made
by ``rill deploy --ota`` (tools/rill_host/deploy/ota.py): no folder, no key, and
nothing here is ever imported (the bridge and main.py pay one ``stat`` each).

    /.ota/key     the device's key (64 hex), provisioned at deploy: manifests are
                  signed with HMAC-SHA256 under it (sign.py)
    /.ota/conf    "K TRIES GOOD_S SAFE_S": safe mode after K boots that did not reach
                  healthy; a new build gets TRIES boots to do so; healthy = online and
                  GOOD_S seconds up; SAFE_S seconds in safe mode (default 10 1 60 300)
    /.ota/slot    "ACTIVE PREVIOUS TRIES": the build that runs ("-": the deployed one
                  at /, "a"/"b": /.ota/a, /.ota/b), the one to roll back to, and the
                  boots left to a build on trial (0: it is committed). Written last
                  (beside, then renamed): the switch is atomic. boot.py reads it.
    /.ota/boots   boots in a row that did not reach healthy (main.py counts them, the
                  receiver clears them once healthy; a wake from deep sleep is no boot)
    /.ota/last    one line for the status topic after a rollback

Modules: boot (the decisions at boot, for main.py; unloaded after), receiver (the
bridge addon, idle), transfer and sign (an update arriving: loaded while it does),
setup (attaches the receiver to a bridge; unloaded after), safemode (what runs
instead of the app). Heap: none until /.ota/key exists; then this package and the
idle receiver, while an update arrives the transfer code too (``make bench``).
"""
DIR = "/.ota"
KEY = DIR + "/key"
CONF = DIR + "/conf"
SLOT = DIR + "/slot"
BOOTS = DIR + "/boots"
LAST = DIR + "/last"
DEFAULTS = (10, 1, 60, 300)  # K, TRIES, GOOD_S, SAFE_S: ESPHome's safe mode defaults


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def write(path, text):
    """``text`` into ``path``, whole or not at all: written beside, then renamed."""
    import os

    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def conf():
    """(K, TRIES, GOOD_S, SAFE_S) from /.ota/conf; DEFAULTS where missing or bad."""
    got = read(CONF).split()
    out = []
    for i, d in enumerate(DEFAULTS):
        try:
            out.append(max(0, int(got[i])))
        except (IndexError, ValueError):
            out.append(d)
    return out


def slot():
    """(active, previous, tries) from /.ota/slot; ("-", "-", 0) without one."""
    got = read(SLOT).split()
    try:
        return got[0], got[1], int(got[2])
    except (IndexError, ValueError):
        return "-", "-", 0


def set_slot(active, previous, tries):
    write(SLOT, "%s %s %d" % (active, previous, tries))


def boots():
    try:
        return int(read(BOOTS, "0"))
    except ValueError:
        return 0


def path(name):
    """A slot's folder: "-" is the root."""
    return "/" if name == "-" else DIR + "/" + name
