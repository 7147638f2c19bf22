"""The agent: board side of the virtual board (tools/rill_host/vboard/cli.py), under the MicroPython unix port.

The host process owns the serial protocol (REPL modes, raw paste, prompts) and sends
this agent one command at a time; the agent executes it in one persistent ``__main__``
namespace, as a board's REPL does, so what runs is real MicroPython in the board's heap.

- fd 0: the program's stdin (bytes the host forwards while code runs)
- fd 1/2: the program's output, streamed by the host to the serial port as it comes
- $VBOARD_CTL_IN: commands, ``b"<op> <seq> <len>\\n" + payload``: ``x`` exec a chunk of
  file input (raw REPL, paste mode), ``s`` exec one friendly-REPL statement (values
  are printed), ``f`` run a file if it exists (boot.py, main.py), ``d`` hand back the
  stdin bytes the program left unread
- $VBOARD_CTL_OUT: replies, same framing: ``r`` ready (payload: sys.version), ``b``
  the code starts (only now may the host send SIGINT for Ctrl-C), ``e`` done (payload:
  the traceback, empty if none), ``q`` done by SystemExit (the host soft-reboots),
  ``l`` the unread stdin bytes. A Ctrl-C landing between commands may make a reply go
  out twice; the host drops replies whose seq is not the current one.

At start ``BoardFS`` is mounted at ``/``: the board filesystem (a host folder,
$VBOARD_FS), with $VBOARD_HOST (links to the repository's lib/, .deps/micropython and
boards/) read-only and unlisted at ``/.host``, so absolute paths behave as on a board;
statvfs (``mpremote df``) reports a flash of $VBOARD_FLASH_KB.
sys.path: ``''``, ``.frozen``, ``/lib``, then $VBOARD_PATH (``:``-separated).
"""
import io
import os
import select
import sys

_ME = __file__


def _norm(cwd, path):
    parts = [] if path.startswith("/") else [p for p in cwd.split("/") if p]
    for p in path.split("/"):
        if p == "..":
            if parts:
                parts.pop()
        elif p and p != ".":
            parts.append(p)
    return "/" + "/".join(parts)


class BoardFS:
    """The board's root filesystem: the folder $VBOARD_FS, plus the read-only host
    folder $VBOARD_HOST reachable (not listed) at /.host, and the RTC domain's folder
$VBOARD_RTC_DIR (rill.sim.power's file, kept over deep sleep) at /.rtc. Listings carry file sizes,
    as on a board's FAT or littlefs.

    This is Python running on the board's heap, which a board's C filesystem is not:
    every import makes several ``stat`` calls, so ``stat`` and ``open`` of a plain path
    (no ``.``/``..`` segment, no /.host) go straight to the folder, whose process cwd
    follows ``chdir``: routed, their garbage lay among the imported code and fragmented
    the heap (see host_tests/tools/test_quickstart.py)."""

    def __init__(self, fs, host, rtc=None):
        self.fs = os.VfsPosix(fs)
        self.host = os.VfsPosix(host) if host else None
        self.rtc = os.VfsPosix(rtc) if rtc else None  # the RTC domain's folder, outside the flash
        self.cwd = "/"
        self.straight = True  # the cwd is in the board folder, and so is the process's

    def _plain(self, path):
        return self.straight and not (path.startswith(".") or "/." in path)

    def _route(self, path, write=False):
        p = _norm(self.cwd, path)
        if self.host and (p == "/.host" or p.startswith("/.host/")):
            if write:
                raise OSError(30)  # EROFS
            return self.host, p[6:] or "/"
        if self.rtc and p.startswith("/.rtc/"):
            return self.rtc, p[5:]
        return self.fs, p

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def ilistdir(self, path):
        vfs, p = self._route(path)
        for e in vfs.ilistdir(p):
            size = vfs.stat(p.rstrip("/") + "/" + e[0])[6] if e[1] == 0x8000 else 0
            yield (e[0], e[1], e[2], size)

    def open(self, path, mode):
        if self._plain(path):
            return self.fs.open(path, mode)
        write = "w" in mode or "a" in mode or "+" in mode or "x" in mode
        vfs, p = self._route(path, write)
        return vfs.open(p, mode)

    def chdir(self, path):
        vfs, p = self._route(path)
        if not vfs.stat(p)[0] & 0x4000:
            raise OSError(20)  # ENOTDIR
        self.straight = vfs is self.fs
        if self.straight:
            vfs.chdir(p)
        self.cwd = p

    def getcwd(self):
        return self.cwd

    def mkdir(self, path):
        vfs, p = self._route(path, True)
        vfs.mkdir(p)

    def remove(self, path):
        vfs, p = self._route(path, True)
        vfs.remove(p)

    def rmdir(self, path):
        vfs, p = self._route(path, True)
        vfs.rmdir(p)

    def rename(self, old, new):
        """VfsPosix with a root builds both paths in one buffer, so that rename(a, b) of
        absolute paths fails: here they go relative to the root, the process cwd there."""
        _, a = self._route(old, True)
        _, b = self._route(new, True)  # both in the board folder: /.host refuses writes
        self.fs.chdir("/")
        try:
            self.fs.rename(a[1:] or ".", b[1:] or ".")
        finally:
            self.fs.chdir(self.cwd if self.straight else "/")

    def stat(self, path):
        if self._plain(path):
            return self.fs.stat(path)
        vfs, p = self._route(path)
        return vfs.stat(p)

    def statvfs(self, path):
        """The virtual flash ($VBOARD_FLASH_KB), in 4 KB blocks, as littlefs reports it."""
        total = int(os.getenv("VBOARD_FLASH_KB") or 1024) // 4
        free = max(0, total - self._blocks("/"))
        return (4096, 4096, total, free, free, 0, 0, 0, 0, 255)

    def _blocks(self, p):
        n = 1
        for e in self.fs.ilistdir(p):
            q = p.rstrip("/") + "/" + e[0]
            n += self._blocks(q) if e[1] == 0x4000 else (self.fs.stat(q)[6] + 4095) // 4096
        return n

    def __str__(self):
        return "flash"


def _setup():
    ctl_in = open("/dev/fd/" + os.getenv("VBOARD_CTL_IN"), "rb")
    ctl_out = open("/dev/fd/" + os.getenv("VBOARD_CTL_OUT"), "wb")
    fs = os.getenv("VBOARD_FS")
    if fs:
        os.umount("/")
        os.mount(BoardFS(fs, os.getenv("VBOARD_HOST"), os.getenv("VBOARD_RTC_DIR")), "/")
        os.chdir("/")
    extra = os.getenv("VBOARD_PATH")
    sys.path[:] = ["", ".frozen", "/lib"] + (extra.split(":") if extra else [])
    return ctl_in, ctl_out


def _frame(op, seq, data=b""):
    return b"%s %d %d\n" % (op, seq, len(data)) + data


def _read_frame(f):
    line = f.readline()
    if not line:
        raise SystemExit  # the host has gone
    op, seq, n = line.split()
    n = int(n)
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise SystemExit
        data += chunk
    return op, int(seq), data


def _traceback(e):
    buf = io.StringIO()
    sys.print_exception(e, buf)
    # drop the agent's own frames: a board's traceback starts at <stdin> or the file
    skip = '  File "%s"' % _ME
    return "\n".join(ln for ln in buf.getvalue().split("\n") if not ln.startswith(skip)).encode()


def _run(op, seq, data, out, g):
    """Execute one command; return the reply frame."""
    try:
        if op == b"f":
            name = data.decode()
            try:
                os.stat(name)
            except OSError:
                return _frame(b"e", seq)
            g["__file__"] = name
            out.write(_frame(b"b", seq))
            execfile(name, g)  # noqa: F821 (a MicroPython builtin)
        else:
            code = compile(data.decode(), "<stdin>", "single" if op == b"s" else "exec")
            data = None
            if op == b"x":
                g["__file__"] = "<stdin>"
            out.write(_frame(b"b", seq))
            exec(code, g)
        return _frame(b"e", seq)
    except SystemExit:
        power = sys.modules.get("rill.sim.power")
        if power is not None and power.sleeping:  # machine.deepsleep(): the host wakes the board
            return _frame(b"z", seq, b"%d" % power.asleep_ms)
        return _frame(b"q", seq)
    except BaseException as e:  # noqa: B902 (KeyboardInterrupt, MemoryError: shown as a board shows them)
        return _frame(b"e", seq, _traceback(e))


def _unread_stdin():
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    got = bytearray()
    while poller.poll(0):
        b = sys.stdin.buffer.read(1)
        if not b:
            break
        got += b
    return bytes(got)


def main():
    ctl_in, ctl_out = _setup()
    g = {"__name__": "__main__"}
    reply = _frame(b"r", 0, sys.version.encode())
    while True:
        try:  # a Ctrl-C meant for code that had just finished lands here, harmlessly
            if reply is not None:
                ctl_out.write(reply)
                reply = None
            op, seq, data = _read_frame(ctl_in)
            reply = _frame(b"e", seq, b"KeyboardInterrupt: \n")
            if op == b"d":
                reply = _frame(b"l", seq, _unread_stdin())
            else:
                reply = _run(op, seq, data, ctl_out, g)
            data = None
        except KeyboardInterrupt:
            pass


main()
