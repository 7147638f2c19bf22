#!/usr/bin/env python3
"""Virtual board: the firmware running on the host behind a serial port (a pty) that
speaks MicroPython's REPL protocol, so the real mpremote and ampy work against it.

    python tools/vboard.py --board RPI_PICO_W      # prints the port, e.g. /dev/pts/7
    mpremote connect /dev/pts/7 exec "print(1+1)"  # or: connect $(cat .vboard/port)
    ampy --port /dev/pts/7 ls

What runs is real MicroPython: one unix-port process (tools/vboard_agent.py) started
with the board's heap and restarted by every soft reset. The heap is ``heap_budget_kb``
of boards/<BOARD>/board.json times --heap-scale (default 1.5: this port is 64-bit, an
MCU 32-bit, and heap objects are made of machine words); --heap sets it exactly. The board filesystem is a folder (.vboard/<BOARD>/fs) mounted at
``/``: boot.py and main.py run at power-on and soft reset (main.py only in the friendly
REPL, as on a board), and /lib is on sys.path, ahead of the repository's lib/ and
.deps/micropython (read-only under /.host; --no-host-lib leaves them out, to check a
deployed board). rill.board uses its simulated hardware by itself (sys.platform is
'linux'); $RILL_BOARD names the board for the firmware.

Protocol as in MicroPython's shared/runtime/pyexec.c: friendly REPL (line editing,
Ctrl-E paste mode), Ctrl-A raw REPL, raw-paste mode with its flow-control window,
Ctrl-B friendly, Ctrl-C interrupt, Ctrl-D soft reset or end of raw input. Output is
cooked (\\n -> \\r\\n) and is dropped when nobody reads the port, as a USB board does.
Not emulated: machine.reset(), `mpremote mount`, binary sys.stdout.buffer output.
"""
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, VBOARD_DIR, VBOARD_PORT_FILE, CliError, Parser, cli, known_boards, load_board, tool  # noqa: E402

AGENT = os.path.join(ROOT, "tools", "vboard_agent.py")
DEFAULT_BOARD = "RPI_PICO_W"
DEFAULT_HEAP_KB = 128  # host_tests' default: between an ESP32's free heap and a Pico's
# Heap objects are made of machine words: the same program needs about 1.5-2x the heap on
# this 64-bit port that it needs on a 32-bit MCU. 1.5 keeps the check on the strict side.
WORD_SCALE = 1.5 if sys.maxsize > 2 ** 32 else 1.0
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 128  # raw-paste flow control: half of a 256-byte stdin buffer, as on boards
OUT_HIGH = 16 * 1024  # output waiting for the port: above this the program's prints block, like a UART's
STUCK_S = 0.5  # nobody has read the port for this long: drop the output, as a USB board does
INTR_GAP_S = 0.3  # one SIGINT per gap (the unix port exits on a second pending one)
COMPOUND = ("if", "while", "for", "try", "with", "def", "class", "async")


class Stop(Exception):
    pass


def _die_with_parent():
    try:  # Linux: the agent must not outlive a killed vboard (it may be publishing MQTT)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def needs_more(src):
    """Does this friendly-REPL input continue on the next line (open brackets, quotes,
    a trailing backslash, or a compound statement not yet ended by an empty line)?"""
    depth, quote, i = 0, None, 0
    while i < len(src):
        c = src[i]
        if quote:
            if c == "\\":
                i += 1
            elif src.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif c == "#":
            while i < len(src) and src[i] != "\n":
                i += 1
            continue
        elif c in "'\"":
            quote = c * 3 if src.startswith(c * 3, i) else c
            i += len(quote) - 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    if quote and len(quote) == 3:
        return True
    if depth > 0 and not quote:
        return True
    if src.endswith("\\"):
        return True
    word = src.split(None, 1)[0] if src.split() else ""
    compound = src.startswith("@") or word.rstrip(":") in COMPOUND
    return compound and not src.endswith("\n")


class Agent:
    """The MicroPython process: its stdin/stdout pipes and the two control pipes."""

    def __init__(self, exe, heap, env, cwd):
        cin_r, self.ctl = os.pipe()
        self.replies, cout_w = os.pipe()
        env = dict(env, VBOARD_CTL_IN=str(cin_r), VBOARD_CTL_OUT=str(cout_w))
        try:
            self.proc = subprocess.Popen([exe, "-X", "heapsize=" + heap, AGENT], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(cin_r, cout_w),
                                         env=env, cwd=cwd, preexec_fn=_die_with_parent)
        finally:
            os.close(cin_r)
            os.close(cout_w)
        self.out = self.proc.stdout.fileno()
        self.stdin = self.proc.stdin.fileno()
        os.set_blocking(self.out, False)
        os.set_blocking(self.stdin, False)
        os.set_blocking(self.replies, False)
        self.buf = b""
        self.ready = False

    def send(self, op, seq, data=b""):
        os.write(self.ctl, b"%s %d %d\n" % (op, seq, len(data)) + data)

    def read_replies(self):
        """Complete reply frames as (op, seq, payload); None once the agent has exited."""
        try:
            data = os.read(self.replies, 65536)
        except BlockingIOError:
            return []
        if not data:
            return None
        self.buf += data
        frames = []
        while b"\n" in self.buf:
            head, rest = self.buf.split(b"\n", 1)
            op, seq, n = head.split()
            n = int(n)
            if len(rest) < n:
                break
            frames.append((op, int(seq), rest[:n]))
            self.buf = rest[n:]
        return frames

    def read_output(self):
        chunks = []
        while True:
            try:
                data = os.read(self.out, 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for fd in (self.ctl, self.replies):
            os.close(fd)
        self.proc.stdout.close()
        try:
            self.proc.stdin.close()
        except OSError:
            pass


class VirtualBoard:
    def __init__(self, board_id, machine, heap, fs, exe, env, log=None):
        self.board_id = board_id
        self.machine = machine
        self.heap = heap
        self.fs = fs
        self.exe = exe
        self.env = env
        self.log = log
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo, no newline translation: a serial line
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.agent = None
        self.version = b"MicroPython"
        self.mode = "friendly"  # the REPL a reset returns to: "friendly" or "raw"
        self.state = "boot"  # boot | friendly | paste | raw | rawpaste | run | drain
        self.pending = bytearray()  # input not yet consumed
        self.out = bytearray()  # output not yet written to the port
        self.line = bytearray()
        self.cont = None  # friendly REPL: the statement so far while it continues
        self.esc = 0
        self.last_cr = False
        self.seq = 0
        self.kind = None  # what is running: "file", "raw" or "friendly"
        self.executing = self.want_intr = self.fed = False
        self.last_intr = 0.0
        self.intr_due = None
        self.result = None
        self.boot_queue = []
        self.stuck_since = None
        self.window = 0

    # -- output ---------------------------------------------------------------------

    def emit(self, data):
        if self.log:
            self.log.write(data)
            self.log.flush()
        self.out += data

    def flush(self):
        while self.out:
            try:
                n = os.write(self.master, self.out[:4096])
            except BlockingIOError:
                now = time.monotonic()
                if self.stuck_since is None:
                    self.stuck_since = now
                elif now - self.stuck_since > STUCK_S:  # nobody reads: drop what waits, here and in the pty
                    termios.tcflush(self.slave, termios.TCIFLUSH)
                    self.out.clear()
                    self.stuck_since = None
                return
            self.stuck_since = None
            del self.out[:n]

    def banner(self):
        return b"%s; %s (virtual)\r\nType \"help()\" for more information.\r\n" % (
            self.version, self.machine.encode())

    def prompt(self):
        self.state = "friendly"
        self.line = bytearray()
        self.cont = None
        self.emit(b">>> ")

    # -- the agent --------------------------------------------------------------------

    def start_agent(self):
        if self.agent is not None:
            self.agent.close()
        self.agent = Agent(self.exe, self.heap, self.env, self.fs)
        self.seq = 0
        self.state = "boot"

    def soft_reboot(self, announce=True, scripts=True):
        if announce:
            self.emit(b"MPY: soft reboot\r\n")
        self.boot_queue = ["boot.py"] + (["main.py"] if self.mode == "friendly" else []) if scripts else []
        self.start_agent()

    def send(self, op, data=b""):
        self.seq += 1
        self.agent.send(op, self.seq, data)

    def execute(self, op, data, kind):
        self.send(op, data)
        self.state, self.kind = "run", kind
        self.executing = self.want_intr = self.fed = False
        self.last_intr, self.intr_due = 0.0, None

    def next_boot(self):
        if self.boot_queue:
            self.execute(b"f", self.boot_queue.pop(0).encode(), "file")
        elif self.mode == "raw":
            self.emit(RAW_BANNER + b">")
            self.state, self.line = "raw", bytearray()
        else:
            self.emit(self.banner())
            self.prompt()

    def interrupt(self):
        if not self.executing:
            self.want_intr = True  # sent once the agent says the code has started
            return
        now = time.monotonic()
        if now - self.last_intr >= INTR_GAP_S:
            self.last_intr, self.intr_due = now, None
            os.kill(self.agent.proc.pid, signal.SIGINT)
        else:  # the code caught the last one: send this one once the gap has passed
            self.intr_due = self.last_intr + INTR_GAP_S

    def on_output(self):
        data = self.agent.read_output()
        if data:
            self.emit(data.replace(b"\n", b"\r\n"))

    def on_replies(self):
        frames = self.agent.read_replies()
        if frames is None:
            return self.crashed()
        for op, seq, data in frames:
            if op == b"r":
                self.agent.ready = True
                self.version = data.split(b"; ", 1)[-1]
                self.next_boot()
            elif seq != self.seq:
                continue  # a reply repeated after a late Ctrl-C
            elif op == b"b":
                self.executing = True
                if self.want_intr:
                    self.interrupt()
            elif op in (b"e", b"q"):
                self.on_output()  # everything the code printed came before its reply
                self.executing = False
                if self.fed:  # take back what the program left unread: it is REPL input
                    self.result = (op, data)
                    self.state = "drain"
                    self.send(b"d")
                else:
                    self.finish(op, data)
            elif op == b"l" and self.state == "drain":
                self.pending[:0] = data
                self.finish(*self.result)
        self.process()

    def finish(self, op, tb):
        tb = tb.replace(b"\n", b"\r\n")
        if self.kind == "file":
            self.emit(tb)
            self.next_boot()
        elif self.kind == "raw":
            self.emit(b"\x04" + tb + b"\x04")
            if op == b"q":
                self.soft_reboot()
            else:
                self.emit(b">")
                self.state, self.line = "raw", bytearray()
        else:
            self.emit(tb)
            if op == b"q":
                self.soft_reboot()
            else:
                self.prompt()

    def crashed(self):
        status = self.agent.proc.wait()
        self.on_output()
        if not self.agent.ready:
            raise CliError("MicroPython did not start (exit status %s): %s"
                           % (status, self.agent.read_output().decode(errors="replace").strip() or "no output"))
        how = ("killed by %s" % signal.Signals(-status).name) if status < 0 else "exit status %d" % status
        msg = b"vboard: MicroPython died (%s), as if the board had crashed; it restarts without boot.py/main.py\r\n" % how.encode()
        if self.state == "run" and self.kind == "raw":
            self.emit(b"\x04" + msg + b"\x04")  # end the client's wait for the exec's result
        else:
            self.emit(b"\r\n" + msg)
        self.soft_reboot(announce=False, scripts=False)

    # -- input --------------------------------------------------------------------

    def process(self):
        while self.pending and self.state not in ("boot", "drain"):
            if self.state == "run":
                data = bytes(self.pending)
                self.pending.clear()
                for _ in range(data.count(b"\x03")):  # each Ctrl-C counts (code may catch one)
                    self.interrupt()
                data = data.replace(b"\x03", b"")
                if data:
                    try:
                        os.write(self.agent.stdin, data)
                    except OSError:
                        pass  # the program reads nothing: lost, like a full UART buffer
                    self.fed = True
                return
            c = self.pending.pop(0)
            getattr(self, "in_" + self.state)(c)

    def in_raw(self, c):
        line = self.line
        if c == 1:  # Ctrl-A: raw-paste request, or reset the raw REPL
            if len(line) == 2 and line[0] == 5:
                if line[1:] == b"A":
                    self.emit(b"R\x01" + struct.pack("<H", PASTE_WINDOW) + b"\x01")
                    self.state, self.line, self.window = "rawpaste", bytearray(), PASTE_WINDOW
                    return
                self.emit(b"R\x00>")
            else:
                self.emit(RAW_BANNER + b">")
            self.line = bytearray()
        elif c == 2:  # Ctrl-B: friendly REPL
            self.mode = "friendly"
            self.emit(b"\r\n" + self.banner())
            self.prompt()
        elif c == 3:
            self.line = bytearray()
        elif c == 4:
            self.emit(b"OK")
            if not line:
                self.emit(b"\r\n")
                self.soft_reboot()
            else:
                self.line = bytearray()
                self.execute(b"x", bytes(line), "raw")
        else:
            line.append(c)

    def in_rawpaste(self, c):
        if c == 4:
            self.emit(b"\x04")
            self.execute(b"x", bytes(self.line), "raw")
        elif c == 3:
            self.emit(b"\x04\x04KeyboardInterrupt: \r\n\x04>")
            self.state, self.line = "raw", bytearray()
        else:
            self.line.append(c)
            self.window -= 1
            if self.window == 0:
                self.emit(b"\x01")
                self.window = PASTE_WINDOW

    def in_friendly(self, c):
        if self.esc:  # swallow escape sequences (arrow keys): no history here
            self.esc = 2 if (self.esc == 1 and c == 0x5B) or (self.esc == 2 and 0x30 <= c <= 0x3F) else 0
            return
        line = self.line
        if c == 1:
            self.mode = "raw"
            self.emit(b"\r\n" + RAW_BANNER + b">")
            self.state, self.line = "raw", bytearray()
        elif c == 2:
            self.emit(b"\r\n" + self.banner())
            self.prompt()
        elif c == 3:
            self.emit(b"\r\n")
            self.prompt()
        elif c == 4:
            if self.cont is not None:
                self.emit(b"\r\n")
                self.execute(b"s", self.cont.encode(), "friendly")
            elif not line:
                self.emit(b"\r\n")
                self.soft_reboot()
        elif c == 5:
            self.emit(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
            self.state, self.line = "paste", bytearray()
        elif c == 13:
            self.emit(b"\r\n")
            text = line.decode(errors="replace")
            src = text if self.cont is None else self.cont + "\n" + text
            self.line = bytearray()
            if self.cont is None and not text.strip():
                self.prompt()
            elif needs_more(src):
                self.cont = src
                self.emit(b"... ")
            else:
                self.execute(b"s", src.encode(), "friendly")
        elif c in (8, 127):
            if line:
                del line[-1:]
                self.emit(b"\x08 \x08")
        elif c == 27:
            self.esc = 1
        elif c >= 32:
            line.append(c)
            self.emit(bytes([c]))

    def in_paste(self, c):
        if c == 3:
            self.emit(b"\r\n")
            self.prompt()
        elif c == 4:
            self.emit(b"\r\n")
            self.execute(b"x", bytes(self.line), "friendly")
        elif c == 10 and self.last_cr:
            self.last_cr = False  # the \n of a \r\n pair
        elif c in (10, 13):
            self.line.append(10)
            self.last_cr = c == 13
            self.emit(b"\r\n=== ")
        else:
            self.last_cr = False
            self.line.append(c)
            self.emit(bytes([c]))

    # -- main loop ------------------------------------------------------------------

    def serve(self):
        self.soft_reboot(announce=False)
        while True:
            agent = self.agent
            want_write = [self.master] if self.out else []
            want_read = [self.master, agent.replies] + ([agent.out] if len(self.out) < OUT_HIGH else [])
            wait = 0.25 if self.intr_due is None else max(0.0, min(0.25, self.intr_due - time.monotonic()))
            r, w, _ = select.select(want_read, want_write, [], wait)
            if self.intr_due is not None and time.monotonic() >= self.intr_due and self.executing:
                self.interrupt()
            if agent.out in r:
                self.on_output()
            if agent.replies in r:
                self.on_replies()
            if self.master in r:
                try:
                    data = os.read(self.master, 65536)
                except (BlockingIOError, OSError):
                    data = b""
                if data:
                    self.pending += data
                    self.process()
            self.flush()

    def close(self):
        if self.agent is not None:
            self.agent.close()
            self.agent = None
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def parse_heap(text):
    t = text.strip().upper()
    mult = {"K": 1024, "M": 1 << 20}.get(t[-1:], 1)
    try:
        n = int(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        raise CliError("--heap %r is not a size like 160K or 200000" % text)
    if not 16 * 1024 <= n <= 64 << 20:
        raise CliError("--heap %s is outside 16K..64M" % text)
    return "%dK" % (n // 1024)


def host_folder(board_dir):
    """A folder of links to the repository's lib/, .deps/micropython and boards/, mounted at /.host."""
    host = os.path.join(board_dir, "host")
    os.makedirs(host, exist_ok=True)
    for name, target in (("lib", "lib"), ("deps", os.path.join(".deps", "micropython")), ("boards", "boards")):
        link, target = os.path.join(host, name), os.path.join(ROOT, target)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        tmp = "%s.%d" % (link, os.getpid())  # atomic: another vboard of this board may be starting
        os.symlink(target, tmp)
        os.replace(tmp, link)
    return host


def build_parser():
    p = Parser(prog="vboard.py", description="Run the firmware on a virtual board behind a pty serial port.")
    p.add_argument("--board", default=os.environ.get("RILL_BOARD") or DEFAULT_BOARD,
                   help="board id: boards/<BOARD>/board.json gives heap and name (default %(default)s)")
    p.add_argument("--fs", help="board filesystem folder (default .vboard/<BOARD>/fs)")
    p.add_argument("--clean", action="store_true", help="empty the board filesystem first")
    p.add_argument("--heap", help="exact heap size, e.g. 240K (default: the board's heap_budget_kb x --heap-scale)")
    p.add_argument("--heap-scale", type=float, default=WORD_SCALE,
                   help="factor for the board's 32-bit heap budget (default %(default)s: 64-bit objects are bigger)")
    p.add_argument("--port-file", default=VBOARD_PORT_FILE, help="write the port path here (default .vboard/port)")
    p.add_argument("--no-host-lib", action="store_true", help="leave the repository's lib/ off sys.path")
    p.add_argument("--log", help="append everything the board prints to this file")
    p.add_argument("--micropython", default=os.environ.get("MICROPYTHON") or tool("micropython"),
                   help="MicroPython unix port executable (default: $MICROPYTHON or the venv's)")
    return p


def prepare(args):
    """Check the arguments and set up the folders; return the VirtualBoard (not started)."""
    if not args.micropython or not os.path.exists(args.micropython):
        raise CliError("no MicroPython unix port found; run 'make setup' or pass --micropython")
    note = None
    try:
        info = load_board(args.board)
    except CliError:
        if known_boards():
            raise
        info = {}
        note = "no boards/%s/board.json yet; using defaults" % args.board
    heap_kb = info.get("heap_budget_kb")
    if not heap_kb:
        heap_kb = DEFAULT_HEAP_KB
        note = note or "boards/%s/board.json has no heap_budget_kb" % args.board
    if not 0.5 <= args.heap_scale <= 8:
        raise CliError("--heap-scale %s is outside 0.5..8" % args.heap_scale)
    heap = parse_heap(args.heap) if args.heap else parse_heap("%dK" % round(heap_kb * args.heap_scale))
    heap_why = "" if args.heap or args.heap_scale == 1 else ": %dK budget x%g for 64-bit objects" % (heap_kb, args.heap_scale)
    if note:
        print("vboard: note: %s (heap %s)" % (note, heap))
    board_dir = os.path.join(VBOARD_DIR, args.board)
    fs = os.path.abspath(args.fs or os.path.join(board_dir, "fs"))
    if args.clean and os.path.isdir(fs):
        shutil.rmtree(fs)
    os.makedirs(fs, exist_ok=True)
    os.makedirs(os.path.join(fs, "lib"), exist_ok=True)
    env = dict(os.environ, MICROPYPATH=".frozen", RILL_BOARD=args.board, VBOARD_FS=fs)
    if not args.no_host_lib:
        env["VBOARD_HOST"] = host_folder(board_dir)
        env["VBOARD_PATH"] = "/.host/lib:/.host/deps"
    log = open(args.log, "ab") if args.log else None
    machine = info.get("machine") or info.get("name") or args.board
    vb = VirtualBoard(args.board, machine, heap, fs, args.micropython, env, log)
    vb.heap_why = heap_why
    return vb


def _stop(signum, frame):
    raise Stop()


def main(argv):
    args = build_parser().parse_args(argv)
    vb = prepare(args)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _stop)
    port_file = os.path.abspath(args.port_file)
    try:
        os.makedirs(os.path.dirname(port_file), exist_ok=True)
        with open(port_file, "w") as f:
            f.write("%s\n%s\n" % (vb.port, args.board))  # tools/common.py reads both
        print("vboard: %s on %s (heap %s%s; fs %s)" % (args.board, vb.port, vb.heap, vb.heap_why, os.path.relpath(vb.fs)))
        print("vboard: try: mpremote connect %s repl   (Ctrl-C here stops the board)" % vb.port, flush=True)
        vb.serve()
    except Stop:
        pass
    finally:
        vb.close()
        try:
            with open(port_file) as f:
                if f.read().split()[:1] == [vb.port]:
                    os.remove(port_file)
        except OSError:
            pass
    print("vboard: stopped")
    return 0


if __name__ == "__main__":
    cli(main)
