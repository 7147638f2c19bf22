# main.py: runs the app at power-on on a board.
import gc

# A collection every 4 KB allocated while importing: the code that stays packs at the
# bottom of the heap instead of among the garbage importing leaves, and the app's
# buffers find long free runs. Running, the app allocates little (its console lines),
# so the threshold seldom fires.
gc.threshold(4096)
import app  # noqa: E402

app.main()
