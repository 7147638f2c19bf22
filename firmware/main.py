# main.py: runs after boot.py when the board resets into the friendly REPL (power-on,
# Ctrl-D), not for mpremote/ampy sessions. Ctrl-C stops the application and leaves a
# REPL. To keep it from starting at all, create a file named "safe" on the board:
#   mpremote fs touch :safe     (and `mpremote fs rm :safe` to start it again)
import os

try:
    os.stat("safe")
    print("main: 'safe' file present; not starting the application")
except OSError:
    # -- rill.ota: with /.ota/key, count this boot; roll back, or run safe mode (lib/rill/ota/boot.py)
    try:
        os.stat("/.ota/key")
        from rill.ota.boot import check as _check
    except (OSError, ImportError):
        _check = None
    else:
        _check = _check()  # "app" or "safe" (rill.ota.boot unloads itself)
    if _check == "safe":
        from rill.ota.safemode import main as _safe

        _safe()  # resets the board when its time is up
    try:
        import app

        app.main()
    except Exception as e:  # with rill.ota, a crash resets the board: the boot counts as a failed one
        if _check is None:
            raise
        from rill.ota.boot import crashed

        crashed(e)
    # -- end rill.ota
