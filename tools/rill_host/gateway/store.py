"""The gateway's SQLite store: de-duplication, results and gaps in one file.

Tables (one database may be shared by several gateway processes on one host; WAL mode):

- ``seen(dev, boot, seq, topic, t_recv, t_commit, sent, instance)``: one row per envelope
  ever committed; its primary key (dev, boot, seq) *is* the de-duplication state, so it
  survives restarts and is shared by every instance that writes to the file. ``sent`` is
  the value's ``ts`` field when it has one (end-to-end latency).
- ``results(dev, boot, seq, key, value)``: what the app's pipeline produced for that
  envelope, one row per output record (JSON text, serialised when produced).
- ``gaps(dev, boot, lo, hi)``: sequence ranges missing inside one boot epoch, rewritten by
  ``scan()``.

A message's rows are written in the same transaction as its ``seen`` row, so a message is
in the store with all of its results or not at all, and a redelivery finds it there.
"""
import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (dev TEXT NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL, topic TEXT,
    t_recv REAL, t_commit REAL, sent REAL, instance TEXT, PRIMARY KEY (dev, boot, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (dev TEXT NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL,
    key TEXT NOT NULL, value TEXT, PRIMARY KEY (dev, boot, seq, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gaps (dev TEXT NOT NULL, boot INTEGER NOT NULL, lo INTEGER NOT NULL,
    hi INTEGER NOT NULL, found REAL, PRIMARY KEY (dev, boot, lo)) WITHOUT ROWID;
"""

# Holes between consecutive seqs of one (dev, boot), decided only once the message above
# the hole is older than the grace period (a late one may still be on its way through
# another instance).
_HOLES = """
SELECT dev, boot, seq + 1, nxt - 1 FROM (
    SELECT dev, boot, seq, LEAD(seq) OVER (PARTITION BY dev, boot ORDER BY seq) AS nxt,
           LEAD(t_commit) OVER (PARTITION BY dev, boot ORDER BY seq) AS t_nxt FROM seen)
WHERE nxt > seq + 1 AND t_nxt <= ?
"""


def connect(path):
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


class Store:
    """One connection to the store. ``commit(batch)`` writes a batch in one transaction
    and returns the duplicates it found; ``scan()`` recomputes the gaps."""

    def __init__(self, path, instance="gw"):
        self.path = path
        self.instance = instance
        self.db = connect(path)

    def commit(self, batch):
        """``batch``: [(dev, boot, seq, topic, t_recv, sent, {key: JSON text})]. Returns the
        entries already in the store (duplicates); their results are not written again."""
        dups = []
        now = time.time()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for dev, boot, seq, topic, t_recv, sent, outs in batch:
                cur = db.execute("INSERT OR IGNORE INTO seen VALUES (?,?,?,?,?,?,?,?)",
                                 (dev, boot, seq, topic, t_recv, now, sent, self.instance))
                if cur.rowcount == 0:
                    dups.append((dev, boot, seq))
                    continue
                for key, value in outs.items():
                    db.execute("INSERT INTO results VALUES (?,?,?,?,?)", (dev, boot, seq, key, value))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return dups

    def is_seen(self, dev, boot, seq):
        return self.db.execute("SELECT 1 FROM seen WHERE dev=? AND boot=? AND seq=?", (dev, boot, seq)).fetchone()

    def scan(self, grace_s=2.0):
        """Rewrite ``gaps`` from ``seen``; returns (new, closed): ranges found now that
        were not reported before, and reported ranges that late messages filled since."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            holes = set(db.execute(_HOLES, (time.time() - grace_s,)).fetchall())
            old = set(db.execute("SELECT dev, boot, lo, hi FROM gaps").fetchall())
            new, closed = holes - old, old - holes
            now = time.time()
            for h in closed:
                db.execute("DELETE FROM gaps WHERE dev=? AND boot=? AND lo=? AND hi=?", h)
            for h in new:
                db.execute("INSERT OR REPLACE INTO gaps VALUES (?,?,?,?,?)", h + (now,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return sorted(new), sorted(closed)

    def gaps(self):
        return self.db.execute("SELECT dev, boot, lo, hi FROM gaps ORDER BY dev, boot, lo").fetchall()

    def lag(self):
        """Per device: seconds since its newest message was committed, and its newest seq."""
        now = time.time()
        return {dev: (now - t, seq) for dev, t, seq in
                self.db.execute("SELECT dev, MAX(t_commit), MAX(seq) FROM seen GROUP BY dev")}

    def latencies(self):
        """End-to-end seconds (commit minus the value's ``ts``) of every message that had one."""
        return [r[0] for r in self.db.execute("SELECT t_commit - sent FROM seen WHERE sent IS NOT NULL")]

    def close(self):
        self.db.close()
