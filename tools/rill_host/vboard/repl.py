"""MicroPython's REPL protocol, as the virtual board speaks it on its serial port.

As in MicroPython's shared/runtime/pyexec.c: friendly REPL (line editing, Ctrl-E paste
mode), Ctrl-A raw REPL, raw-paste mode with its flow-control window, Ctrl-B friendly,
Ctrl-C interrupt, Ctrl-D soft reset or end of raw input.

``Repl`` is a state machine with no I/O of its own: bytes from the port go in with
``feed``, the agent's reply frames with ``on_reply``; what the port shows goes out
through ``emit`` and the code to run through the ``Agent`` it is given (rill_host/vboard/proc.py).
Each state is an object whose ``byte`` method handles one input byte and returns the
next state; the states that wait for the agent (``BOOT``, ``RUN``, ``DRAIN``) take no
bytes from the port, which keep waiting in ``pending``.
"""
import signal
import struct
import time

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 128  # raw-paste flow control: half of a 256-byte stdin buffer, as on boards
INTR_GAP_S = 0.3  # one SIGINT per gap (the unix port exits on a second pending one)
COMPOUND = ("if", "while", "for", "try", "with", "def", "class", "async")


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
    if (quote and len(quote) == 3) or (depth > 0 and not quote) or src.endswith("\\"):
        return True
    word = src.split(None, 1)[0] if src.split() else ""
    compound = src.startswith("@") or word.rstrip(":") in COMPOUND
    return compound and not src.endswith("\n")


class State:
    """One protocol state. ``takes_input``: whether port bytes are consumed now."""

    takes_input = True
    name = "?"

    def byte(self, r, c):  # pragma: no cover - waiting states take no input
        return self

    def __repr__(self):
        return "<state %s>" % self.name


class Waiting(State):
    """The agent is starting or runs boot.py/main.py (BOOT), or hands back the stdin bytes
    the code left unread (DRAIN)."""

    takes_input = False

    def __init__(self, name):
        self.name = name


class Run(State):
    """Code runs: port bytes are its stdin, Ctrl-C interrupts it (handled in ``Repl.feed``)."""

    name = "run"


class Friendly(State):
    name = "friendly"

    def byte(self, r, c):
        if r.esc:  # swallow escape sequences (arrow keys): no history here
            r.esc = 2 if (r.esc == 1 and c == 0x5B) or (r.esc == 2 and 0x30 <= c <= 0x3F) else 0
            return self
        if c == 1:
            r.mode = RAW
            r.emit(b"\r\n" + RAW_BANNER + b">")
            return RAW
        if c == 2:
            r.emit(b"\r\n" + r.banner())
            return r.prompt()
        if c == 3:
            r.emit(b"\r\n")
            return r.prompt()
        if c == 4:
            if r.cont is not None:
                r.emit(b"\r\n")
                return r.execute(b"s", r.cont.encode(), "friendly")
            if not r.line:
                r.emit(b"\r\n")
                return r.soft_reboot()
            return self
        if c == 5:
            r.emit(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
            return PASTE
        if c == 13:
            return self.enter_line(r)
        if c in (8, 127):
            if r.line:
                del r.line[-1:]
                r.emit(b"\x08 \x08")
        elif c == 27:
            r.esc = 1
        elif c >= 32:
            r.line.append(c)
            r.emit(bytes([c]))
        return self

    def enter_line(self, r):
        r.emit(b"\r\n")
        text = r.line.decode(errors="replace")
        src = text if r.cont is None else r.cont + "\n" + text
        r.line = bytearray()
        if r.cont is None and not text.strip():
            return r.prompt()
        if needs_more(src):
            r.cont = src
            r.emit(b"... ")
            return self
        return r.execute(b"s", src.encode(), "friendly")


class Paste(State):
    name = "paste"

    def byte(self, r, c):
        if c == 3:
            r.emit(b"\r\n")
            return r.prompt()
        if c == 4:
            r.emit(b"\r\n")
            return r.execute(b"x", bytes(r.line), "friendly")
        if c == 10 and r.last_cr:
            r.last_cr = False  # the \n of a \r\n pair
        elif c in (10, 13):
            r.line.append(10)
            r.last_cr = c == 13
            r.emit(b"\r\n=== ")
        else:
            r.last_cr = False
            r.line.append(c)
            r.emit(bytes([c]))
        return self


class Raw(State):
    name = "raw"

    def byte(self, r, c):
        line = r.line
        if c == 1:  # Ctrl-A: raw-paste request, or reset the raw REPL
            r.line = bytearray()
            if len(line) == 2 and line[0] == 5:
                if line[1:] == b"A":
                    r.emit(b"R\x01" + struct.pack("<H", PASTE_WINDOW) + b"\x01")
                    r.window = PASTE_WINDOW
                    return RAW_PASTE
                r.emit(b"R\x00>")
            else:
                r.emit(RAW_BANNER + b">")
            return self
        if c == 2:  # Ctrl-B: friendly REPL
            r.mode = FRIENDLY
            r.emit(b"\r\n" + r.banner())
            return r.prompt()
        if c == 3:
            r.line = bytearray()
        elif c == 4:
            r.emit(b"OK")
            if not line:
                r.emit(b"\r\n")
                return r.soft_reboot()
            return r.execute(b"x", bytes(line), "raw")
        else:
            line.append(c)
        return self


class RawPaste(State):
    name = "rawpaste"

    def byte(self, r, c):
        if c == 4:
            r.emit(b"\x04")
            return r.execute(b"x", bytes(r.line), "raw")
        if c == 3:
            r.emit(b"\x04\x04KeyboardInterrupt: \r\n\x04>")
            return RAW
        r.line.append(c)
        r.window -= 1
        if r.window == 0:
            r.emit(b"\x01")
            r.window = PASTE_WINDOW
        return self


BOOT, DRAIN, RUN = Waiting("boot"), Waiting("drain"), Run()
FRIENDLY, PASTE, RAW, RAW_PASTE = Friendly(), Paste(), Raw(), RawPaste()
FRESH_LINE = (PASTE, RAW, RAW_PASTE)  # entering these starts an empty input line


class AgentGone(Exception):
    """The MicroPython process exited before it ever said it was ready."""


class Repl:
    """The protocol of one board. ``spawn()`` returns a fresh agent (rill_host.vboard.proc.Agent);
    ``emit(bytes)`` is the serial output; ``machine`` names the board in the banner."""

    def __init__(self, spawn, emit, machine):
        self.spawn = spawn
        self.emit = emit
        self.machine = machine
        self.agent = None
        self.version = b"MicroPython"
        self.mode = FRIENDLY  # the REPL a reset returns to: FRIENDLY or RAW
        self.state = BOOT
        self.pending = bytearray()  # port input not yet consumed
        self.line = bytearray()
        self.cont = None  # friendly REPL: the statement so far while it continues
        self.esc = 0
        self.last_cr = False
        self.window = 0
        self.seq = 0
        self.kind = None  # what runs: "file", "raw" or "friendly"
        self.executing = self.want_intr = self.fed = False
        self.last_intr = 0.0
        self.intr_due = None
        self.result = None
        self.boot_queue = []
        self.sleeps = self.slept_ms = 0  # deep sleeps so far, and their virtual time

    def go(self, state):
        if state in FRESH_LINE and state is not self.state:
            self.line = bytearray()
        self.state = state
        return state

    def banner(self):
        return b"%s; %s (virtual)\r\nType \"help()\" for more information.\r\n" % (self.version, self.machine.encode())

    def prompt(self):
        self.line = bytearray()
        self.cont = None
        self.emit(b">>> ")
        return self.go(FRIENDLY)

    # -- agent side ---------------------------------------------------------------

    def soft_reboot(self, announce=True, scripts=True):
        if announce:
            self.emit(b"MPY: soft reboot\r\n")
        self.boot_queue = ["boot.py"] + (["main.py"] if self.mode is FRIENDLY else []) if scripts else []
        if self.agent is not None:
            self.agent.close()
        self.agent = self.spawn()
        self.seq = 0
        return self.go(BOOT)

    def execute(self, op, data, kind):
        self.seq += 1
        self.agent.send(op, self.seq, data)
        self.kind = kind
        self.executing = self.want_intr = self.fed = False
        self.last_intr, self.intr_due = 0.0, None
        return self.go(RUN)

    def next_boot(self):
        if self.boot_queue:
            return self.execute(b"f", self.boot_queue.pop(0).encode(), "file")
        if self.mode is RAW:
            self.emit(RAW_BANNER + b">")
            return self.go(RAW)
        self.emit(self.banner())
        return self.prompt()

    def interrupt(self):
        if not self.executing:
            self.want_intr = True  # sent once the agent says the code has started
            return
        now = time.monotonic()
        if now - self.last_intr >= INTR_GAP_S:
            self.last_intr, self.intr_due = now, None
            self.agent.interrupt()
        else:  # the code caught the last one: send this one once the gap has passed
            self.intr_due = self.last_intr + INTR_GAP_S

    def tick(self):
        """Send an interrupt that waited for its gap; called by the serve loop."""
        if self.intr_due is not None and time.monotonic() >= self.intr_due and self.executing:
            self.interrupt()

    def on_output(self):
        data = self.agent.read_output()
        if data:
            self.emit(data.replace(b"\n", b"\r\n"))

    def on_replies(self):
        frames = self.agent.read_replies()
        if frames is None:
            return self.crashed()
        for op, seq, data in frames:
            self.on_reply(op, seq, data)
        self.process()

    def on_reply(self, op, seq, data):
        if op == b"r":
            self.agent.ready = True
            self.version = data.split(b"; ", 1)[-1]
            self.next_boot()
        elif seq != self.seq:
            return  # a reply repeated after a late Ctrl-C
        elif op == b"b":
            self.executing = True
            if self.want_intr:
                self.interrupt()
        elif op in (b"e", b"q", b"z"):
            self.on_output()  # everything the code printed came before its reply
            self.executing = False
            if self.fed:  # take back what the program left unread: it is REPL input
                self.result = (op, data)
                self.seq += 1
                self.agent.send(b"d", self.seq)
                self.go(DRAIN)
            else:
                self.finish(op, data)
        elif op == b"l" and self.state is DRAIN:
            self.pending[:0] = data
            self.finish(*self.result)

    def finish(self, op, tb):
        if op == b"z":
            return self.wake(int(tb or b"0"))
        tb = tb.replace(b"\n", b"\r\n")
        if self.kind == "file":
            self.emit(tb)
            if op == b"q":  # SystemExit in boot.py/main.py: a soft reset, as the ports do (pyexec's forced exit)
                return self.soft_reboot()
            return self.next_boot()
        self.emit(b"\x04" + tb + b"\x04" if self.kind == "raw" else tb)
        if op == b"q":
            return self.soft_reboot()
        if self.kind == "raw":
            self.emit(b">")
            return self.go(RAW)
        return self.prompt()

    def wake(self, ms):
        """The program called machine.deepsleep(ms): the process ends (RAM is lost), the RTC
        domain ($VBOARD_RTC) keeps its memory and the time slept, and the board wakes at once
        (the virtual clock jumps by ``ms``) into boot.py and main.py, as after a reset."""
        self.sleeps += 1
        self.slept_ms += ms
        msg = b"vboard: deep sleep %d ms; wake %d (reset cause DEEPSLEEP)\r\n" % (ms, self.sleeps)
        self.emit(b"\x04" + msg + b"\x04" if self.kind == "raw" else msg)
        self.mode = FRIENDLY  # a wake is a reset: the friendly REPL, main.py runs
        return self.soft_reboot(announce=False)

    def crashed(self):
        status = self.agent.wait()
        self.on_output()
        if not self.agent.ready:
            raise AgentGone("MicroPython did not start (exit status %s): %s"
                            % (status, self.agent.read_output().decode(errors="replace").strip() or "no output"))
        how = ("killed by %s" % signal.Signals(-status).name) if status < 0 else "exit status %d" % status
        msg = (b"vboard: MicroPython died (%s), as if the board had crashed; it restarts without "
               b"boot.py/main.py\r\n" % how.encode())
        if self.state is RUN and self.kind == "raw":
            self.emit(b"\x04" + msg + b"\x04")  # end the client's wait for the exec's result
        else:
            self.emit(b"\r\n" + msg)
        return self.soft_reboot(announce=False, scripts=False)

    # -- port side ----------------------------------------------------------------

    def feed(self, data):
        self.pending += data
        self.process()

    def process(self):
        while self.pending and self.state.takes_input:
            if self.state is RUN:
                self.to_program()
                return
            c = self.pending.pop(0)
            self.go(self.state.byte(self, c))

    def to_program(self):
        data = bytes(self.pending)
        self.pending.clear()
        for _ in range(data.count(b"\x03")):  # each Ctrl-C counts (code may catch one)
            self.interrupt()
        data = data.replace(b"\x03", b"")
        if data:
            self.agent.write_stdin(data)
            self.fed = True
