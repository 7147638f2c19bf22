"""The gateway's PostgreSQL store (psycopg 3): store.py's tables and rules, for fleets that
outgrow one SQLite file; any number of gateway processes, on any hosts, write one database.

    rill gateway --db postgresql://gw@db.example/rill ...

A batch is one transaction of three statements, each one round trip whatever the batch's
size: the ``seen`` rows as arrays (``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
NOTHING RETURNING`` the keys it inserted: a racing instance's rows are not returned, so
they count as duplicates there), then the results the same way. Rows go in key order, so
two instances inserting the same keys wait for each other instead of deadlocking. A scan
holds a transaction-scoped advisory lock: one instance reports a gap once.
"""
import psycopg

from .store import SCHEMA, Store

_LOCK = 0x72696C6C  # "rill": the advisory lock of the schema and of a scan


class PgStore(Store):
    P = "%s"
    SUFFIX = ""

    def __init__(self, url, instance="gw"):
        self.path = url
        self.instance = instance
        self.db = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        self.db.execute("BEGIN")
        self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))  # instances starting at once
        for stmt in SCHEMA:
            self.db.execute(stmt % self.SUFFIX)
        self.db.execute("COMMIT")

    def q(self, sql, args=()):
        cur = self.db.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []

    def begin(self, exclusive=False):
        self.db.execute("BEGIN")
        if exclusive:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))

    def end(self, ok):
        self.db.execute("COMMIT" if ok else "ROLLBACK")

    def insert_seen(self, rows):
        if not rows:
            return set()
        rows = sorted(rows, key=lambda r: r[:4])
        cols = list(zip(*rows))
        cur = self.db.execute(
            "INSERT INTO seen SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],"
            " %s::text[], %s::float8[], %s::float8[], %s::float8[], %s::text[], %s::text[])"
            " ON CONFLICT DO NOTHING RETURNING dev, stream, boot, seq", [list(c) for c in cols])
        return set(cur.fetchall())

    def insert_results(self, rows):
        if rows:
            self.db.execute("INSERT INTO results SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[],"
                            " %s::bigint[], %s::text[], %s::text[])", [list(c) for c in zip(*rows)])

    def insert_streams(self, keys):
        if keys:
            keys = sorted(keys)
            self.db.execute("INSERT INTO streams SELECT d, s, b, NULL, CASE WHEN b = 0 THEN 0 END, NULL"
                            " FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS k(d, s, b) ON CONFLICT DO NOTHING",
                            [list(c) for c in zip(*keys)])
