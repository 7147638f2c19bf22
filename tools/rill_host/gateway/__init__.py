"""The gateway (``rill gateway``): the device's pipelines on a host, fed by MQTT.

core.py has the Gateway, store.py the SQLite store (de-duplication, results, gaps),
demo_app.py the app that ``rill fleet`` devices feed. CPython only (paho-mqtt, sqlite3);
the transforms are the device's own ``rill`` modules, imported from the checkout's lib/.
"""
import os
import sys

from .. import ROOT

if os.path.join(ROOT, "lib") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "lib"))
