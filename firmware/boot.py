# boot.py: runs first at every reset (also before the raw REPL that mpremote and ampy
# use), so it stays tiny and never blocks; the application starts from main.py.
import gc

# -- rill.ota: run the build /.ota/slot names (lib/rill/ota/__init__.py); none or "-": this one
try:
    with open("/.ota/slot") as _f:
        _s = _f.read().split()[0]
    if _s != "-":
        import os
        import sys

        os.chdir("/.ota/" + _s)
        sys.path[sys.path.index("/lib")] = "/.ota/%s/lib" % _s
except (OSError, IndexError, ValueError):
    pass
# -- end rill.ota
gc.collect()
