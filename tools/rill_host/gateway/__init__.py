"""The gateway (``rill gateway``): the device's pipelines on a host, fed by MQTT.

core.py has the Gateway, store.py the SQLite store (de-duplication, results, gaps),
demo_app.py the app that ``rill fleet`` devices feed. CPython only (paho-mqtt, sqlite3);
the transforms are the device's own ``rill`` modules (installed beside this package).
"""
