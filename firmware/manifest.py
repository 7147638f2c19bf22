# Freeze rill and the example app into a MicroPython firmware image. From a micropython
# checkout (after `make -C mpy-cross` and the port's submodules), e.g. for a Pico W:
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/repo/firmware/manifest.py
# Frozen modules run from flash, so importing them costs no heap for the code.
# boot.py, main.py, config.json and boards/<BOARD>/board.json still go on the board's
# filesystem: python tools/deploy.py --port PORT --board BOARD --umqtt skip ...
# Paths are relative to this file; the host-only parts of rill (the CPython shim and the
# simulated hardware) are left out.
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules (asyncio, ...)
require("umqtt.simple")


def _device_files(top="../lib/rill"):
    import os

    found = []
    for dirpath, dirnames, names in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in ("sim", "__pycache__"))
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(dirpath, name), top).replace(os.sep, "/")
            if name.endswith(".py") and rel != "cpython_compat.py":
                found.append(rel)
    return found


package("rill", files=_device_files(), base_path="../lib")
module("app.py")
