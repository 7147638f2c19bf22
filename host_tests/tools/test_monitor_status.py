"""``rill monitor --status``: a device's retained status record, as published by
rill.status, printed as one line with its RAM and flash backlog, oldest age and drops."""
import json

from tooltest import tool


def test_monitor_status_prints_the_backlog_line(broker):
    v = {"uptime_s": 812, "heap": {"free": 50000, "low": 41230},
         "outbox": {"depth": 64, "pending": 250, "flash": 186, "flash_bytes": 12595, "drops": 3, "oldest_ms": 4900}}
    broker.publish("rill/gh-1/status/metrics", json.dumps({"dev": "gh-1", "boot": 0, "seq": 1, "v": v}), retain=True)
    r = tool("monitor.py", "--status", "%s:%d" % (broker.host, broker.port), "--seconds", "1.5")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("gh-1 outbox: RAM 64, pending 250 (flash 186, 12.3 KB), oldest 4.9 s, drops 3"
                                " | uptime 812 s, heap low 41230"), r.stdout
    r = tool("monitor.py", "--status", "%s:1" % broker.host, "--seconds", "1")
    assert r.returncode != 0 and "cannot watch status records" in r.stderr, r.stderr
