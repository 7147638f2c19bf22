"""The virtual board's moving parts: the MicroPython process (``Agent``, the host side of
rill_host/vboard/vboard_agent.py) and the serial port (``Board``: a pty, the output queue and the
loop that joins both to the protocol in rill_host/vboard/repl.py).

Output is cooked (\\n -> \\r\\n) and is dropped when nobody reads the port, as a USB
board does; while it piles up the program's prints block, like a UART's.
"""
import os
import pty
import select
import signal
import subprocess
import termios
import time
import tty

from rill_host.vboard.repl import Repl

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vboard_agent.py")
OUT_HIGH = 16 * 1024  # output waiting for the port: above this the program's prints block
STUCK_S = 0.5  # nobody has read the port for this long: drop the output, as a USB board does


def _die_with_parent(parent):
    """The agent's preexec_fn: it must not outlive a killed vboard (it may be publishing
    MQTT or writing its spill log). Linux: PR_SET_PDEATHSIG; and if the vboard died before
    that took hold (it would never fire), the agent ends at once."""
    def pre():
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass
        if os.getppid() != parent:
            os._exit(1)

    return pre


class Agent:
    """The MicroPython process: its stdin/stdout pipes and the two control pipes."""

    def __init__(self, exe, heap, env, cwd):
        cin_r, self.ctl = os.pipe()
        self.replies, cout_w = os.pipe()
        env = dict(env, VBOARD_CTL_IN=str(cin_r), VBOARD_CTL_OUT=str(cout_w))
        try:
            self.proc = subprocess.Popen([exe, "-X", "heapsize=" + heap, AGENT], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(cin_r, cout_w),
                                         env=env, cwd=cwd, preexec_fn=_die_with_parent(os.getpid()))
        finally:
            os.close(cin_r)
            os.close(cout_w)
        self.out = self.proc.stdout.fileno()
        self.stdin = self.proc.stdin.fileno()
        for fd in (self.out, self.stdin, self.replies):
            os.set_blocking(fd, False)
        self.buf = b""
        self.ready = False

    def send(self, op, seq, data=b""):
        os.write(self.ctl, b"%s %d %d\n" % (op, seq, len(data)) + data)

    def interrupt(self):
        os.kill(self.proc.pid, signal.SIGINT)

    def write_stdin(self, data):
        try:
            os.write(self.stdin, data)
        except OSError:
            pass  # the program reads nothing: lost, like a full UART buffer

    def wait(self):
        return self.proc.wait()

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


class Board:
    """A pty serial port with the REPL protocol behind it; ``serve()`` runs until a signal."""

    def __init__(self, machine, heap, fs, exe, env, log=None):
        self.heap = heap
        self.fs = fs
        self.log = log
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo, no newline translation: a serial line
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.out = bytearray()  # output not yet written to the port
        self.stuck_since = None
        self.repl = Repl(lambda: Agent(exe, heap, env, fs), self.emit, machine)

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

    def serve(self):
        repl = self.repl
        repl.soft_reboot(announce=False)
        while True:
            agent = repl.agent
            want_write = [self.master] if self.out else []
            want_read = [self.master, agent.replies] + ([agent.out] if len(self.out) < OUT_HIGH else [])
            due = repl.intr_due
            wait = 0.25 if due is None else max(0.0, min(0.25, due - time.monotonic()))
            r, _, _ = select.select(want_read, want_write, [], wait)
            repl.tick()
            if agent.out in r:
                repl.on_output()
            if agent.replies in r:
                repl.on_replies()
            if self.master in r:
                try:
                    data = os.read(self.master, 65536)
                except (BlockingIOError, OSError):
                    data = b""
                if data:
                    repl.feed(data)
            self.flush()

    def close(self):
        if self.repl.agent is not None:
            self.repl.agent.close()
            self.repl.agent = None
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.log:
            self.log.close()
