"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian's ``postgresql``).

    pg = Cluster(tmp_dir).start()     # initdb + pg_ctl start, a unix socket in tmp_dir
    pg.url                            # "postgresql://rill@/rill?host=..." for psycopg
    pg.stop()

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(Debian's package makes it), else ``nobody``: its folder is made theirs and the server
commands run through ``runuser``. It listens on a unix socket only (no port to collide
with), trusts local connections (a test cluster, gone with its folder) and runs with
``fsync=off`` (what a crash of the test machine would lose is the test's own data).
"""
import glob
import os
import pwd
import shutil
import subprocess


class ClusterError(Exception):
    pass


def find_bindir():
    """The newest Debian PostgreSQL server's bin folder (or pg_ctl's on PATH); None if none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[-3]))
    if found:
        return os.path.dirname(found[-1])
    exe = shutil.which("pg_ctl")
    return os.path.dirname(exe) if exe else None


class Cluster:
    def __init__(self, base, bindir=None):
        self.base = str(base)
        self.bindir = bindir or find_bindir()
        self.data = os.path.join(self.base, "data")
        self.sock = self.base  # the socket's path must stay under ~100 bytes: tmp folders do
        self.user = None
        self.url = "postgresql://rill@/rill?host=%s" % self.sock

    def _run(self, *cmd):
        name = os.path.basename(cmd[0])
        if self.user:
            cmd = ("runuser", "-u", self.user, "--") + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode:
            said = (r.stderr or r.stdout).strip().splitlines()
            raise ClusterError("%s failed: %s" % (name, said[-1] if said else "exit %d" % r.returncode))
        return r

    def start(self):
        if not self.bindir:
            raise ClusterError("no PostgreSQL server is installed (Debian: apt-get install postgresql)")
        os.makedirs(self.base, exist_ok=True)
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                os.chmod(self.base, 0o755)
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
                break
            else:
                raise ClusterError("running as root, and there is no postgres or nobody user to run PostgreSQL as")
        b = self.bindir
        self._run(os.path.join(b, "initdb"), "-D", self.data, "-U", "rill", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")
        opts = "-k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
               " -c max_connections=50" % self.sock
        self._run(os.path.join(b, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.base, "log"), "-o", opts,
                  "-w", "start")
        self._run(os.path.join(b, "createdb"), "-h", self.sock, "-U", "rill", "rill")
        return self

    def database(self, name):
        """A new empty database in this cluster; its URL."""
        self._run(os.path.join(self.bindir, "createdb"), "-h", self.sock, "-U", "rill", name)
        return "postgresql://rill@/%s?host=%s" % (name, self.sock)

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")
            except ClusterError:
                pass
