#!/usr/bin/env python3
"""``rill capture --device D --out PATH``: receive a device's capture over MQTT
(rill.io.mqttsink) and write it as the capture file ``rill replay PATH`` reads.

    rill capture --broker 127.0.0.1:1883 --device porch-1 --out run.capture

Subscribes (QoS 1) to the capture topic (``rill/{device}/capture``) first: start it
before the device's run. Each message is checked as a rill JSON envelope (strict JSON),
de-duplicated by (dev, seq) (QoS 1 delivers at least once), and its record is written
as a framed line, its JSON byte for byte as the device wrote it, to ``PATH.1`` (the
segment ``rill.io.frame.read(PATH)`` reads). It stops at the capture's end record,
at the header of another capture (the device started again: run it again for that
one), or after ``--idle`` seconds without a message. The summary on stderr counts the
records, duplicates, gaps in seq (records the device could not deliver) and
messages that were not envelopes.
"""
import os
import sys

from rill_host.common import CliError, Parser, cli

_V = b',"v":'  # in an envelope, the first one ends the head: the dev id's quotes are escaped


def main(argv):
    p = Parser(prog="rill capture", description="Write a device's capture over MQTT to a capture file.")
    p.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the broker (default 127.0.0.1:1883)")
    p.add_argument("--device", required=True, help="the device id (the bridge's device)")
    p.add_argument("--out", required=True, help="the capture's path: PATH.1 is written, as rill replay PATH reads")
    p.add_argument("--topic", default="rill/{device}/capture", help="the capture topic (default rill/{device}/capture)")
    p.add_argument("--idle", type=float, default=60.0, help="stop after this many seconds without a message")
    args = p.parse_args(argv)
    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        raise CliError("--broker %r is not HOST:PORT" % args.broker)
    from rill.io import frame
    from rill.mqtt.codecs import JSON
    from rill_host.mqtt_host import BrokerError, Client

    out_path = args.out + ".1"
    try:
        existing = frame.paths(args.out)
    except OSError:
        existing = []  # no such folder: open() says so below
    if existing:
        raise CliError("%s already holds a capture: remove its segments or choose another --out" % args.out)
    topic = args.topic.replace("{device}", args.device)
    try:
        client = Client(int(port), "rill-capture-%d" % os.getpid(), host=host)
        client.subscribe(topic, qos=1)
    except (OSError, BrokerError) as e:
        raise CliError("cannot subscribe at %s: %s" % (args.broker, e))
    try:
        out = open(out_path, "wb")
    except OSError as e:
        raise CliError("cannot write %s: %s" % (out_path, e.strerror or e))
    sys.stderr.write("capture: subscribed to %s at %s\n" % (topic, args.broker))
    sys.stderr.flush()
    seen, dups, bad, ended, restarted = set(), 0, 0, False, False
    try:
        while not ended:
            try:
                msg = client.receive(args.idle)
            except (OSError, BrokerError) as e:
                raise CliError("the broker connection ended: %s" % e)
            if msg is None:
                break
            try:
                dev, seq, value = JSON.unwrap(msg.payload)
            except ValueError:
                bad += 1
                continue
            if dev != args.device:
                continue
            if seq in seen:
                dups += 1
                continue
            if seen and isinstance(value, dict) and "capture" in value:
                restarted = True  # a new capture's header: the device started again
                break
            seen.add(seq)
            out.write(frame.framed(msg.payload[msg.payload.index(_V) + len(_V):-1]))
            out.flush()
            ended = isinstance(value, dict) and "end" in value
    finally:
        out.close()
        client.close()
    gaps = max(seen) - min(seen) + 1 - len(seen) if seen else 0
    sys.stderr.write("capture: %d records in %s (%s), %d duplicate(s), %d missing in seq, %d not an envelope\n"
                     % (len(seen), out_path, "to its end" if ended else "no end record: a new capture began"
                        if restarted else "no end record: stopped after %gs idle" % args.idle, dups, gaps, bad))
    return 0


if __name__ == "__main__":
    cli(main, "rill capture")
