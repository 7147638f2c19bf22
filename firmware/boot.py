# boot.py: runs first at every reset (also before the raw REPL that mpremote and ampy
# use), so it stays tiny and never blocks; the application starts from main.py.
import gc

gc.collect()
