#!/usr/bin/env python3
"""Read a generated file (rill.io.sink.FileSink, a rill.io.recorder capture) back as JSONL.

    rill read capture.jsonl [--out FILE]

The sink's segments are read oldest first (``PATH.1``, ``PATH.2``, ...). Each intact
record is written as its JSON text, byte for byte as the device wrote it, one per
line; torn or corrupt lines are left out and counted in the summary on stderr.
"""
import sys

from rill_host.common import CliError, Parser, cli


def main(argv):
    p = Parser(prog="rill read", description="Read a rill generated file back as JSONL.")
    p.add_argument("path", help="the path a FileSink was given (its segments PATH.N are read, oldest first)")
    p.add_argument("--out", help="write the JSONL here instead of stdout")
    p.add_argument("--max-line", type=int, default=512, help="the sink's max_line (default 512)")
    args = p.parse_args(argv)
    from rill.io import frame

    try:
        files = frame.paths(args.path)
    except OSError:
        files = []
    if not files:
        raise CliError("no segment %s.1, %s.2... was found" % (args.path, args.path))
    try:
        out = open(args.out, "wb") if args.out else sys.stdout.buffer
    except OSError as e:
        raise CliError("cannot write %s: %s" % (args.out, e.strerror or e))
    records = skipped = 0
    try:
        for path in files:
            with open(path, "rb") as f:
                frames = frame.Frames(f, args.max_line)
                for data in frames.bodies():
                    out.write(data + b"\n")
                    records += 1
                skipped += frames.skipped
    finally:
        if args.out:
            out.close()
    sys.stderr.write("read_capture: %d records from %d file(s), %d damaged line(s) left out\n"
                     % (records, len(files), skipped))
    return 0


if __name__ == "__main__":
    cli(main, "rill read")
