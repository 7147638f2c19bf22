"""The gateway's SQLite store: de-duplication, results and gaps in one file.

Tables (one database may be shared by several gateway processes on one host; WAL mode):

- ``seen(dev, boot, seq, topic, t_recv, t_commit, sent, instance)``: one row per envelope
  ever committed; its primary key (dev, boot, seq) *is* the de-duplication state, so it
  survives restarts and is shared by every instance that writes to the file. ``sent`` is
  the value's ``ts`` field when it has one (end-to-end latency).
- ``results(dev, boot, seq, key, value)``: what the app's pipeline produced for that
  envelope, one row per output record (JSON text, serialised when produced).
- ``gaps(dev, boot, lo, hi)``: sequence ranges missing inside one boot epoch, found by
  ``scan()``; ``streams(dev, boot, upto)``: how far each epoch has been scanned, so a scan
  reads only what arrived since (plus the reported gaps, in case a late message fills one).

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
CREATE TABLE IF NOT EXISTS streams (dev TEXT NOT NULL, boot INTEGER NOT NULL, upto INTEGER,
    PRIMARY KEY (dev, boot)) WITHOUT ROWID;
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
        streams = set()
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
                if (dev, boot) not in streams:
                    streams.add((dev, boot))
                    db.execute("INSERT OR IGNORE INTO streams VALUES (?,?,NULL)", (dev, boot))
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
        """Find the holes between consecutive stored seqs of each (dev, boot), once the
        message above a hole is ``grace_s`` old (a late one may still be on its way through
        another instance). Returns (new, closed): ranges reported now, and reported ranges
        that late messages have (partly) filled since; what remains of those is new."""
        cutoff = time.time() - grace_s
        db = self.db
        new, closed = [], []
        db.execute("BEGIN IMMEDIATE")
        try:
            for dev, boot, lo, hi in db.execute("SELECT dev, boot, lo, hi FROM gaps").fetchall():
                late = [r[0] for r in db.execute("SELECT seq FROM seen WHERE dev=? AND boot=? AND seq BETWEEN ? AND ?"
                                                 " ORDER BY seq", (dev, boot, lo, hi))]
                if late:
                    closed.append((dev, boot, lo, hi))
                    db.execute("DELETE FROM gaps WHERE dev=? AND boot=? AND lo=?", (dev, boot, lo))
                    for a, b in zip([lo - 1] + late, late + [hi + 1]):
                        if b > a + 1:
                            new.append((dev, boot, a + 1, b - 1))
            for dev, boot, upto in db.execute("SELECT dev, boot, upto FROM streams").fetchall():
                prev = upto
                rows = db.execute("SELECT seq, t_commit FROM seen WHERE dev=? AND boot=? AND seq>=? ORDER BY seq",
                                  (dev, boot, -1 if upto is None else upto))
                for seq, t in rows:
                    if t > cutoff:
                        break
                    if prev is not None and seq > prev + 1:
                        new.append((dev, boot, prev + 1, seq - 1))
                    prev = seq
                if prev != upto:
                    db.execute("UPDATE streams SET upto=? WHERE dev=? AND boot=?", (prev, dev, boot))
            now = time.time()
            for g in new:
                db.execute("INSERT OR REPLACE INTO gaps VALUES (?,?,?,?,?)", g + (now,))
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
