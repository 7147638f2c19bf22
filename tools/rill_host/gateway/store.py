"""The gateway's store: de-duplication, results and gaps; SQLite here, PostgreSQL in pg.py.

Tables (the same in both; one database may be shared by several gateway processes):

- ``seen(dev, stream, boot, seq, digest, topic, t_recv, t_commit, sent, instance, flag)``:
  one row per envelope ever committed; its primary key (dev, stream, boot, seq) *is* the
  de-duplication state, so it survives restarts and is shared by every instance. ``stream``
  is the sequence the number comes from: "" for the bridge's own, "capture" for an
  MqttSink's (core.py says which topics). ``digest`` (CRC-32 of the payload) tells a
  redelivery (the same bytes: a duplicate) from a *reused* key (other bytes under a number
  already stored: a device whose sequence restarted, as ``seq=None`` does at every boot):
  that message is stored under stream ``<stream>~<digest>`` with ``flag`` = "reused",
  never dropped. ``sent`` is the value's ``ts`` field when it has one.
- ``results(dev, stream, boot, seq, key, value)``: what the app's pipeline produced for
  that envelope, one row per output record (JSON text).
- ``gaps(dev, stream, boot, lo, hi, found)``: numbers missing from one boot of one stream,
  found by ``scan()``; ``streams(dev, stream, boot, upto, first, next)``: how far each was
  scanned, and where the boot began and ended when that is known (boot 0 begins at 0, a
  birth's ``first``, a goodbye's ``next``), so a loss at either end is a gap too.

``commit(rows, run)`` writes one batch in one transaction: the ``seen`` rows, then
``run(i)`` (the pipeline) for each row that was new, and its results, so a message is in
the store with all of its results or not at all, and a redelivery finds it there.
"""
import sqlite3
import time

SEEN = ("dev", "stream", "boot", "seq", "digest", "topic", "t_recv", "t_commit", "sent", "instance", "flag")
KEY4 = "dev TEXT NOT NULL, stream TEXT NOT NULL, boot BIGINT NOT NULL"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS seen (%s, seq BIGINT NOT NULL, digest BIGINT, topic TEXT, t_recv DOUBLE PRECISION,"
    " t_commit DOUBLE PRECISION, sent DOUBLE PRECISION, instance TEXT, flag TEXT,"
    " PRIMARY KEY (dev, stream, boot, seq))%%s" % KEY4,
    "CREATE TABLE IF NOT EXISTS results (%s, seq BIGINT NOT NULL, key TEXT NOT NULL, value TEXT,"
    " PRIMARY KEY (dev, stream, boot, seq, key))%%s" % KEY4,
    "CREATE TABLE IF NOT EXISTS gaps (%s, lo BIGINT NOT NULL, hi BIGINT NOT NULL, found DOUBLE PRECISION,"
    " PRIMARY KEY (dev, stream, boot, lo))%%s" % KEY4,
    "CREATE TABLE IF NOT EXISTS streams (%s, upto BIGINT, first BIGINT, next BIGINT,"
    " PRIMARY KEY (dev, stream, boot))%%s" % KEY4,
)


class Store:
    """One connection to a SQLite store (WAL mode; instances on one host may share the file)."""

    P = "?"  # the driver's placeholder
    SUFFIX = " WITHOUT ROWID"

    def __init__(self, path, instance="gw"):
        self.path = path
        self.instance = instance
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for stmt in SCHEMA:
            self.db.execute(stmt % self.SUFFIX)
        self._sql = {}

    # -- the dialect (pg.py overrides these) ---------------------------------------------

    def q(self, sql, args=()):
        return self.db.execute(sql.replace("?", self.P), args).fetchall()

    def begin(self, exclusive=False):
        """BEGIN IMMEDIATE (the write lock), tried again every half millisecond for up to 30
        s. SQLite's own busy handler sleeps 1, 2, 5, ... 100 ms between tries, so instances
        sharing the file, each committing many small batches a second, lost to each other
        for seconds (the bench's p99 latency with three instances: 1.8 s)."""
        db, end = self.db, None
        db.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e):
                        raise
                    now = time.monotonic()
                    if end is None:
                        end = now + 30
                    elif now > end:
                        raise
                    time.sleep(0.0005)
        finally:
            db.execute("PRAGMA busy_timeout=30000")  # the other statements wait as before

    def end(self, ok):
        self.db.execute("COMMIT" if ok else "ROLLBACK")

    def insert_seen(self, rows):
        """Insert ``rows`` (tuples in SEEN's order) unless their key is stored: the set of
        (dev, stream, boot, seq) inserted."""
        if not rows:
            return set()
        sql = self._sql.get(len(rows))
        if sql is None:
            sql = self._sql[len(rows)] = ("INSERT INTO seen VALUES %s ON CONFLICT DO NOTHING RETURNING dev, stream,"
                                          " boot, seq" % ",".join(["(?,?,?,?,?,?,?,?,?,?,?)"] * len(rows)))
            if len(self._sql) > 64:
                self._sql.clear()
        return set(self.db.execute(sql, [x for r in rows for x in r]).fetchall())

    def insert_results(self, rows):
        self.db.executemany("INSERT INTO results VALUES (?,?,?,?,?,?)", rows)

    def insert_streams(self, keys):
        self.db.executemany("INSERT INTO streams VALUES (?,?,?,NULL,?,NULL) ON CONFLICT DO NOTHING",
                            [k + ((0 if k[2] == 0 else None),) for k in keys])

    # -- the batch ------------------------------------------------------------------------

    def commit(self, rows, run=None):
        """``rows``: [(dev, stream, boot, seq, digest, topic, t_recv, sent)]; ``run(i)``:
        the results ({key: JSON text}) of row i, called once for each row stored now, in
        order. Returns (stored, duplicates, reused): indices of ``rows``; a reused one was
        stored under its ``~digest`` stream (flag "reused")."""
        now = time.time()
        full = [r[:7] + (now, r[7], self.instance, None) for r in rows]
        stored, dups, reused = [], [], []
        self.begin()
        try:
            got = self.insert_seen(full)
            again = []
            if len(got) == len(full):  # every row new (the usual batch)
                stored = list(range(len(full)))
            else:
                for i, r in enumerate(full):
                    k = r[:4]
                    if k in got:
                        got.discard(k)  # the first of a key the batch holds twice: the second is not new
                        stored.append(i)
                    else:
                        again.append(i)
            if again:  # a redelivery (the same bytes), or a number used again for other bytes
                alt = []
                for i in again:
                    r = full[i]
                    d = self.q("SELECT digest FROM seen WHERE dev=? AND stream=? AND boot=? AND seq=?", r[:4])
                    if d and d[0][0] == r[4]:
                        dups.append(i)
                    else:
                        alt.append(i)
                        full[i] = r = (r[0], "%s~%08x" % (r[1], r[4])) + r[2:10] + ("reused",)
                got = self.insert_seen([full[i] for i in alt])
                for i in alt:
                    k = full[i][:4]
                    (reused if k in got else dups).append(i)
                    got.discard(k)
                stored = sorted(stored + reused) if reused else stored
            self.insert_streams({full[i][:3] for i in stored if "~" not in full[i][1]})
            if run is not None:
                res = []
                for i in stored:
                    k = full[i][:4]
                    for key, value in run(i).items():
                        res.append(k + (key, value))
                self.insert_results(res)
            self.end(True)
        except BaseException:
            self.end(False)
            raise
        return stored, dups, reused

    def bound(self, dev, stream, boot, first=None, next=None):
        """Where boot ``boot`` of (dev, stream) began (``first``) or ended (``next``: the
        first number it did not use), from its birth or goodbye."""
        self.begin()
        try:
            self.q("INSERT INTO streams VALUES (?,?,?,NULL,?,?) ON CONFLICT DO NOTHING",
                   (dev, stream, boot, first, next))
            if first is not None:
                self.q("UPDATE streams SET first=? WHERE dev=? AND stream=? AND boot=?", (first, dev, stream, boot))
            if next is not None:
                self.q("UPDATE streams SET next=? WHERE dev=? AND stream=? AND boot=?", (next, dev, stream, boot))
            self.end(True)
        except BaseException:
            self.end(False)
            raise

    def scan(self, grace_s=2.0):
        """Find the numbers missing from each (dev, stream, boot): between consecutive stored
        seqs, before the first stored one (when the boot's first number is known) and after
        the last (when its end is), once the message above a hole is ``grace_s`` old (a late
        one may still be on its way through another instance). Returns (new, closed): ranges
        reported now, and reported ranges that late messages have (partly) filled since;
        what remains of those is new. Each scan's work grows with the gaps late messages
        fell into and the boots not yet scanned to their goodbye's end, not with history."""
        cutoff = time.time() - grace_s
        new, closed = [], []
        self.begin(exclusive=True)
        try:
            for dev, stream, boot, lo, hi in self.q(  # the reported gaps a late message fell into: one statement
                    "SELECT dev, stream, boot, lo, hi FROM gaps g WHERE EXISTS (SELECT 1 FROM seen s WHERE"
                    " s.dev = g.dev AND s.stream = g.stream AND s.boot = g.boot AND s.seq BETWEEN g.lo AND g.hi)"):
                late = [r[0] for r in self.q("SELECT seq FROM seen WHERE dev=? AND stream=? AND boot=? AND seq"
                                             " BETWEEN ? AND ? ORDER BY seq", (dev, stream, boot, lo, hi))]
                if late:
                    closed.append((dev, stream, boot, lo, hi))
                    self.q("DELETE FROM gaps WHERE dev=? AND stream=? AND boot=? AND lo=?", (dev, stream, boot, lo))
                    for a, b in zip([lo - 1] + late, late + [hi + 1]):
                        if b > a + 1:
                            new.append((dev, stream, boot, a + 1, b - 1))
            for dev, stream, boot, upto, first, nxt in self.q(  # not the boots scanned up to their goodbye's end
                    "SELECT * FROM streams WHERE next IS NULL OR upto IS NULL OR upto < next - 1"):
                prev = upto if upto is not None else None if first is None else first - 1
                rows = self.q("SELECT seq, t_commit FROM seen WHERE dev=? AND stream=? AND boot=? AND seq>?"
                              " ORDER BY seq", (dev, stream, boot, -1 if prev is None else prev))
                done = True
                for seq, t in rows:
                    if t > cutoff:
                        done = False
                        break
                    if prev is not None and seq > prev + 1:
                        new.append((dev, stream, boot, prev + 1, seq - 1))
                    prev = seq
                if done and nxt is not None and prev is not None and nxt > prev + 1:
                    new.append((dev, stream, boot, prev + 1, nxt - 1))  # lost at the end of the boot
                    prev = nxt - 1
                if prev != upto:
                    self.q("UPDATE streams SET upto=? WHERE dev=? AND stream=? AND boot=?", (prev, dev, stream, boot))
            now = time.time()
            for g in new:
                self.q("DELETE FROM gaps WHERE dev=? AND stream=? AND boot=? AND lo=?", g[:4])
                self.q("INSERT INTO gaps VALUES (?,?,?,?,?,?)", g + (now,))
            self.end(True)
        except BaseException:
            self.end(False)
            raise
        return sorted(new), sorted(closed)

    def gaps(self):
        return self.q("SELECT dev, stream, boot, lo, hi FROM gaps ORDER BY dev, stream, boot, lo")

    def lag(self):
        """Per device: seconds since its newest message (the highest seq of its latest boot
        with one) was committed, and that seq. An index seek per device and boot, run at
        every scan: not a pass over every message ever stored."""
        now, out = time.time(), {}
        for dev, boot in self.q("SELECT dev, boot FROM streams WHERE stream = '' ORDER BY dev, boot DESC"):
            if dev not in out:
                r = self.q("SELECT t_commit, seq FROM seen WHERE dev=? AND stream='' AND boot=? ORDER BY seq DESC"
                           " LIMIT 1", (dev, boot))
                if r:
                    out[dev] = (now - r[0][0], r[0][1])
        return out

    def latencies(self):
        """End-to-end seconds (commit minus the value's ``ts``) of every message that had one."""
        return [r[0] for r in self.q("SELECT t_commit - sent FROM seen WHERE sent IS NOT NULL")]

    def close(self):
        self.db.close()


def open_store(url, instance="gw"):
    """A store by URL: ``postgresql://...`` (pg.py), else a SQLite file's path."""
    if url.startswith(("postgresql://", "postgres://")):
        from .pg import PgStore

        return PgStore(url, instance)
    return Store(url, instance)
