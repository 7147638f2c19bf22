# main.py: runs after boot.py when the board resets into the friendly REPL (power-on,
# Ctrl-D), not for mpremote/ampy sessions. Ctrl-C stops the application and leaves a
# REPL. To keep it from starting at all, create a file named "safe" on the board:
#   mpremote fs touch :safe     (and `mpremote fs rm :safe` to start it again)
import os

try:
    os.stat("safe")
    print("main: 'safe' file present; not starting the application")
except OSError:
    import app

    app.main()
