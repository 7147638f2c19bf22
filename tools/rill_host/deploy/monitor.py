#!/usr/bin/env python3
"""Watch a board's console: stream what it prints, without interrupting it.

    rill monitor --port /dev/ttyACM0          # or --port vboard
    rill monitor --port vboard --seconds 5    # stop after 5 s
    rill monitor --port vboard --repl         # interactive: runs `mpremote connect P repl`
    rill monitor --status 127.0.0.1:1883      # each device's status record: backlog, drops

Streaming opens the port read-only in spirit: nothing is sent, so a running main.py
keeps running (mpremote, ampy and deploy interrupt it). --reset first sends Ctrl-C
and Ctrl-D to the friendly REPL, i.e. a soft reset, so boot.py and main.py run again
and their output is seen from the start. Ctrl-C (here) stops the monitor.
"""
import os
import sys
import time

from rill_host.common import CliError, Parser, cli, need_tool, resolve_port


def parse_args(argv):
    p = Parser(prog="rill monitor", description="Stream a board's console output.")
    p.add_argument("--port", help="serial port, or 'vboard' for the running virtual board")
    p.add_argument("--status", metavar="HOST:PORT", help="instead: print each device's status record from this "
                   "broker (RAM and flash backlog, oldest pending age, drops)")
    p.add_argument("--device", default="+", help="with --status: one device (default: all)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--reset", action="store_true", help="soft-reset the board first (boot.py and main.py run)")
    p.add_argument("--repl", action="store_true", help="interactive REPL through mpremote instead")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (default %(default)s)")
    args = p.parse_args(argv)
    if not args.port and not args.status:
        p.error("give --port (a board's console) or --status HOST:PORT (status records)")
    if args.seconds is not None and args.seconds <= 0:
        p.error("--seconds must be positive")
    return args


def stream(port, baud, seconds, reset, out=sys.stdout):
    try:
        import serial
    except ImportError:
        raise CliError("pyserial is not installed; run 'make setup' (it comes with mpremote)")
    try:
        s = serial.Serial(port, baud, timeout=0.1)
    except (OSError, serial.SerialException) as e:
        raise CliError("cannot open %s (%s)" % (port, getattr(e, "strerror", None) or e))
    end = None if seconds is None else time.monotonic() + seconds
    try:
        if reset:
            s.write(b"\r\x03\x03\x02")  # stop what runs, friendly REPL
            time.sleep(0.2)
            s.reset_input_buffer()
            s.write(b"\x04")  # soft reset: boot.py, main.py
        while end is None or time.monotonic() < end:
            data = s.read(4096)
            if data:
                out.write(data.replace(b"\r\n", b"\n").decode(errors="replace"))
                out.flush()
    except (OSError, serial.SerialException) as e:
        raise CliError("lost the port %s (%s)" % (port, e))
    finally:
        s.close()


def main(argv):
    args = parse_args(argv)
    if args.status:
        from rill_host.deploy.monitor_status import watch

        host, _, port = args.status.rpartition(":")
        try:
            watch(host or "127.0.0.1", int(port), args.device, args.seconds)
        except (OSError, ValueError) as e:
            raise CliError("cannot watch status records on %s (%s)" % (args.status, e))
        except KeyboardInterrupt:
            print()
        return 0
    port = resolve_port(args.port)
    if not os.path.exists(port) and not port.startswith(("rfc2217:", "socket:", "COM")):
        raise CliError("no serial port %s (is the board plugged in, or the virtual board running?)" % port)
    if args.repl:
        exe = need_tool("mpremote")
        os.execv(exe, [exe, "connect", port, "repl"])
    try:
        stream(port, args.baud, args.seconds, args.reset)
    except KeyboardInterrupt:
        print()
    return 0


if __name__ == "__main__":
    cli(main, "rill monitor")
