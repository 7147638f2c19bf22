"""The gateway's PostgreSQL store (psycopg 3): store.py's tables and rules, for fleets that
outgrow one SQLite file; any number of gateway processes, on any hosts, write one database.

    rill gateway --db postgresql://gw@db.example/rill ...

A batch is one transaction, a few round trips whatever the batch's size: the ``seen``
rows by COPY into a scratch table, then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING`` the keys it inserted (a racing instance's rows are not returned, so they
count as duplicates there), then the results by COPY (only new keys have results). Rows
go in key order, so two instances inserting the same keys wait for each other instead of
deadlocking. A scan
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
        self.db.execute("CREATE TEMP TABLE seen_batch (LIKE seen) ON COMMIT DELETE ROWS")  # this session's

    def q(self, sql, args=()):
        cur = self.db.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []

    def begin(self, exclusive=False):
        self.db.execute("BEGIN")
        if exclusive:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))

    def end(self, ok):
        self.db.execute("COMMIT" if ok else "ROLLBACK")

    def _copy(self, table, rows):
        with self.db.cursor().copy("COPY %s FROM STDIN" % table) as cp:
            write = cp.write_row
            for r in rows:
                write(r)

    def insert_seen(self, rows):
        """COPY into the session's scratch table, then one INSERT ... SELECT ... ON CONFLICT
        DO NOTHING RETURNING: about half the time of passing the rows as arrays (unnest),
        most of which went into writing and parsing the arrays' text."""
        if not rows:
            return set()
        self._copy("seen_batch", rows)
        return set(self.db.execute("INSERT INTO seen SELECT * FROM seen_batch ORDER BY dev, stream, boot, seq"
                                   " ON CONFLICT DO NOTHING RETURNING dev, stream, boot, seq").fetchall())

    def insert_results(self, rows):
        if rows:  # rows only for keys this transaction inserted: no conflict, a plain COPY
            self._copy("results", rows)

    def insert_streams(self, keys):
        if keys:
            keys = sorted(keys)
            self.db.execute("INSERT INTO streams SELECT d, s, b, NULL, CASE WHEN b = 0 THEN 0 END, NULL"
                            " FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS k(d, s, b) ON CONFLICT DO NOTHING",
                            [list(c) for c in zip(*keys)])
