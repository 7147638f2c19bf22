#!/usr/bin/env python3
"""Gateway benchmark: ``rill gateway`` against a bare paho subscriber, 1 and 3 instances.

The baseline (``--baseline``, below) is the least a consumer can do with the same
guarantees: a paho subscriber that parses the JSON envelope with ``json.loads``, inserts
(dev, boot, seq) with ON CONFLICT DO NOTHING, a batch in one statement, commits whatever has arrived as one
transaction and then acknowledges it: the gateway's transaction policy, without its strict
JSON, per-device pipelines, results and gap scans. Both run as separate processes on one
mosquitto (its default limits, except no queue limit), connected and subscribed, then
frozen (SIGSTOP) while ``rill fleet`` (real rill.mqtt Bridges) publishes; the rate is timed
from SIGCONT to the last commit, so it is the consumer's rate, not the fleet's. Then each runs live
under the fleet at a fixed rate, for the end-to-end latency (device emit to commit).

Prints one JSON object as its last line (tools/rill_host/bench/cli.py merges it into `make bench`):

  gateway_rate_1, gateway_rate_3     msgs/s through 1 and 3 gateways sharing $share/bench/...
  baseline_rate_1, baseline_rate_3   the bare subscriber's msgs/s in the same run
  gateway_ratio_vs_baseline_1, _3    gateway / baseline
  gateway_rate_pg_1, baseline_rate_pg_1, gateway_ratio_vs_baseline_pg_1
                                     the same with one instance each, into PostgreSQL
  gateway_latency_ms_p50, _p99       live, 3 gateways, 10 devices at 50 Hz; baseline_latency_ms_* beside it
  gateway_latency_ms_p99_warm        the same without each device's first 10 messages: a device's first
                                     message at an instance waits for its pipeline to be built

usage: python -m rill_host.bench.gateway [DEVICES [COUNT]]
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from rill_host.mqtt_host import Broker

FILTER = "fleet/+/+"


def baseline(port, group, db, instance):
    """The bare subscriber, written to be fast: run until SIGTERM. paho's thread appends to
    a deque (one wake-up per batch); the main thread decodes with json.loads, inserts the
    whole batch in one statement (SQLite: executemany; PostgreSQL: unnest arrays), both with
    ON CONFLICT DO NOTHING, commits, then acknowledges."""
    import collections
    import threading

    import paho.mqtt.client as paho

    buf, wake = collections.deque(), threading.Event()
    pg = db.startswith("postgresql://")
    if pg:
        import psycopg

        con = psycopg.connect(db, autocommit=True)
        con.execute("CREATE TABLE IF NOT EXISTS seen (dev TEXT, boot BIGINT, seq BIGINT, t_recv FLOAT8,"
                    " t_commit FLOAT8, sent FLOAT8, PRIMARY KEY (dev, boot, seq))")
    else:
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE IF NOT EXISTS seen (dev TEXT, boot INTEGER, seq INTEGER, t_recv REAL, t_commit REAL,"
                    " sent REAL, PRIMARY KEY (dev, boot, seq)) WITHOUT ROWID")

    def on_message(cl, u, m):
        buf.append((m.payload, m.mid, m.qos, time.time()))
        if len(buf) == 1:
            wake.set()

    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=instance, clean_session=False, manual_ack=True)
    c.on_connect = lambda cl, u, f, rc, p=None: cl.subscribe("$share/%s/%s" % (group, FILTER), 1)
    c.on_message = on_message
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    c.connect("127.0.0.1", port)
    c.loop_start()
    loads, pop, ack = json.loads, buf.popleft, c.ack
    while not stop:
        if not buf:
            wake.wait(0.1)
        wake.clear()
        if not buf:
            continue
        items = [pop() for _ in range(min(len(buf), 1000))]
        now = time.time()
        rows = []
        for payload, _, _, t_recv in items:
            d = loads(payload)
            rows.append((d["dev"], d["boot"], d["seq"], t_recv, now, d["v"].get("ts")))
        if pg:
            con.execute("BEGIN")
            con.execute("INSERT INTO seen SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::float8[],"
                        " %s::float8[], %s::float8[]) ON CONFLICT DO NOTHING", [list(x) for x in zip(*rows)])
            con.execute("COMMIT")
        else:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT INTO seen VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING", rows)
            con.execute("COMMIT")
        for _, mid, qos, _ in items:
            ack(mid, qos)
    c.disconnect()
    c.loop_stop()


def consumers(kind, n, port, db, tmp):
    procs = []
    for i in range(n):
        if kind == "gateway":
            cmd = [sys.executable, "-m", "rill_host.cli", "gateway", "--app", "demo", "--port", str(port), "--group",
                   "bench", "--filter", FILTER, "--db", db, "--instance", "gw-%d" % i, "--persistent",
                   "--metrics", os.path.join(tmp, "m%d.json" % i)]
        else:
            cmd = [sys.executable, "-m", "rill_host.bench.gateway", "--baseline", str(port), "bench", db, "base-%d" % i]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True))
    return procs


def query(db, sql):
    """One value from the store (SQLite file or PostgreSQL URL); None if no table yet."""
    if db.startswith("postgresql://"):
        import psycopg

        try:
            with psycopg.connect(db) as con:
                return con.execute(sql).fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return None
    try:
        con = sqlite3.connect(db, timeout=30)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return None


def count(db):
    return query(db, "SELECT COUNT(*) FROM seen") or 0


def stop_all(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def fleet(port, devices, n, rate, seq_dir):
    subprocess.run([sys.executable, "-m", "rill_host.cli", "fleet", "--devices", str(devices), "--count", str(n),
                    "--rate", str(rate), "--port", str(port), "--seq-dir", seq_dir], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)


def wait_count(db, total, timeout=300):
    end = time.monotonic() + timeout
    while count(db) < total:
        if time.monotonic() > end:
            raise SystemExit("bench_gateway: %d of %d messages stored after %d s" % (count(db), total, timeout))
        time.sleep(0.1)


def drain(kind, n, devices, per, tmp, pg=None):
    """msgs/s over a backlog: the consumers connect, subscribe and are then frozen
    (SIGSTOP) while the fleet publishes; timed from SIGCONT to the last commit. ``pg``: a
    PostgreSQL cluster (rill_host.testing.postgres) to store into, else SQLite."""
    db = pg.database("%s%d" % (kind, n)) if pg else os.path.join(tmp, "%s%d.sqlite" % (kind, n))
    broker = Broker("mosquitto", mosquitto_conf=("max_queued_messages 0",))
    procs = []
    try:
        port = broker.start().port
        procs = consumers(kind, n, port, db, tmp)
        time.sleep(2)  # connected, subscribed, warmed up
        for p in procs:
            os.killpg(p.pid, signal.SIGSTOP)
        fleet(port, devices, per, 0, os.path.join(tmp, "seq-%s%d" % (kind, n)))
        t0 = time.time()
        for p in procs:
            os.killpg(p.pid, signal.SIGCONT)
        wait_count(db, devices * per)
        return devices * per / (query(db, "SELECT MAX(t_commit) FROM seen") - t0)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGCONT)
        stop_all(procs)
        broker.close()


def live(kind, n, devices, per, rate, tmp):
    """End-to-end latency (device emit to commit), ms p50 and p99, under a fleet at ``rate``."""
    db = os.path.join(tmp, "live-%s%d.sqlite" % (kind, n))
    broker = Broker("mosquitto", mosquitto_conf=("max_queued_messages 0",))
    try:
        port = broker.start().port
        procs = consumers(kind, n, port, db, tmp)
        time.sleep(1.5)
        fleet(port, devices, per, rate, os.path.join(tmp, "seq-live-%s%d" % (kind, n)))
        wait_count(db, devices * per)
        stop_all(procs)
        con = sqlite3.connect(db)
        lat = sorted(r[0] * 1000 for r in con.execute("SELECT t_commit - sent FROM seen"))
        warm = sorted(r[0] * 1000 for r in con.execute(
            "SELECT t_commit - sent FROM seen s WHERE seq >= 10 + (SELECT MIN(seq) FROM seen WHERE dev = s.dev)"))
        con.close()
        return pct(lat, 0.5), pct(lat, 0.99), pct(warm, 0.99)
    finally:
        broker.close()


def pct(xs, q):
    return round(xs[min(len(xs) - 1, int(len(xs) * q))], 1)


def main():
    devices = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    out = {"gateway_bench_messages": devices * per}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 3):
            for kind in ("baseline", "gateway"):  # interleaved: both see the same machine
                out["%s_rate_%d" % (kind, n)] = round(drain(kind, n, devices, per, tmp))
            out["gateway_ratio_vs_baseline_%d" % n] = round(out["gateway_rate_%d" % n] / out["baseline_rate_%d" % n], 3)
        from rill_host.testing.postgres import Cluster, find_bindir

        if find_bindir():  # PostgreSQL, one instance each
            base = tempfile.mkdtemp(prefix="rill-pg-")  # its own folder: the server may run as another user
            pg = Cluster(base)
            try:
                pg.start()
                for kind in ("baseline", "gateway"):
                    out["%s_rate_pg_1" % kind] = round(drain(kind, 1, devices, per, tmp, pg))
                out["gateway_ratio_vs_baseline_pg_1"] = round(out["gateway_rate_pg_1"] / out["baseline_rate_pg_1"], 3)
            finally:
                pg.stop()
                shutil.rmtree(base, ignore_errors=True)
        for kind in ("baseline", "gateway"):
            lat = live(kind, 3, 10, 600, 50, tmp)  # 10 devices at 50 Hz for 12 s
            for name, v in zip(("p50", "p99", "p99_warm"), lat):
                out["%s_latency_ms_%s" % (kind, name)] = v
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--baseline"]:
        baseline(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        main()
