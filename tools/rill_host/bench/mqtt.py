#!/usr/bin/env python3
"""MQTT benchmark: rill.mqtt against stock umqtt.simple, on the MicroPython unix port.

Starts its own mosquitto (tools/rill_host/mqtt_host.py's launcher, with no per-client queue
limits), compiles the library and umqtt.simple to .mpy as a board would load
them, runs tools/rill_host/bench/mp/bench_mqtt_mp.py while mosquitto_sub subscribes to the QoS 1 topic, and
checks that the subscriber received every QoS 1 message (so the QoS 1 figures are
delivered to a subscriber and acknowledged to the device). Prints one
JSON object as its last line (tools/rill_host/bench/cli.py merges it into `make bench`):

  mqtt_qos1_rate          rill.mqtt QoS 1, delivered and acknowledged, msg/s (target >= 20000),
                          tuned: window 256, outbox 512, 32 KB arena, broker without queue limits
  mqtt_qos1_rate_default  the same with the Bridge's default settings (same tuned broker)
  mqtt_qos1_rate_default_broker  the Bridge's defaults against mosquitto's default configuration
  mqtt_qos0_ratio_vs_raw  rill.mqtt QoS 0 rate / stock umqtt.simple QoS 0 loop (target >= 0.5)
  loop_stall_p99_ms       p99 lateness of a 1 ms task while publishing QoS 1 (target <= 5)
  mqtt_qos0_rate, umqtt_qos0_rate, umqtt_qos1_rate   the raw figures of the same run
  mqtt_qos1_delivered_all whether the subscriber got every QoS 1 message

usage: python -m rill_host.bench.mqtt [N [ROUNDS]]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from rill_host.bench import MP as TOOLS
from rill_host.build.mpy import build_mpy, compile_file
from rill_host.common import CliError, need_micropython
from rill_host.mqtt_host import HOST, Broker, BrokerError


def build(out):
    """The library, umqtt.simple (the baseline) and the device-side script, as .mpy."""
    build_mpy(out, "x64", deps=True)
    compile_file(os.path.join(TOOLS, "bench_mqtt_mp.py"), os.path.join(out, "bench_mqtt_mp.mpy"), "x64")


def subscriber(port, topic, n):
    """mosquitto_sub (C: cheap) waiting for ``n`` messages; exit status 0 once all came."""
    exe = shutil.which("mosquitto_sub")
    if not exe:
        return None
    proc = subprocess.Popen([exe, "-h", HOST, "-p", str(port), "-t", topic, "-q", "0", "-C", str(n), "-W", "300"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # subscribed before the device starts
    return proc


def main():
    n = sys.argv[1] if len(sys.argv) > 1 else "20000"
    rounds = sys.argv[2] if len(sys.argv) > 2 else "3"
    try:
        exe = need_micropython()
    except CliError as e:
        raise SystemExit("bench_mqtt: %s" % e)
    with tempfile.TemporaryDirectory() as tmp:
        mpy = os.path.join(tmp, "mpy")
        build(mpy)
        broker = plain = None
        try:
            # no per-subscriber queue limit: the default (1000 QoS 1 messages) would drop on purpose
            broker = Broker("mosquitto", mosquitto_conf=("max_queued_messages 0", "max_inflight_messages 0"))
            port = broker.start().port
            plain = Broker("mosquitto")  # mosquitto's defaults: nothing tuned
            plain_port = plain.start().port
            want = int(n) * int(rounds)
            sub = subscriber(port, "bench/rill1", want)
            env = dict(os.environ, MICROPYPATH=".frozen:" + mpy)
            args = [str(port), n, rounds, str(plain_port)]
            proc = subprocess.run([exe, "-X", "heapsize=256K", "-c", "import bench_mqtt_mp"] + args,
                                  env=env, cwd=tmp, capture_output=True, text=True, timeout=600)  # its .rill/ there
            if proc.returncode != 0:
                raise SystemExit("bench_mqtt: device side failed:\n" + proc.stdout + proc.stderr)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            if sub is not None:
                try:
                    out["mqtt_qos1_delivered_all"] = sub.wait(10) == 0
                except subprocess.TimeoutExpired:
                    sub.kill()
                    out["mqtt_qos1_delivered_all"] = False
        except BrokerError as e:
            raise SystemExit("bench_mqtt: %s" % e)
        finally:
            for b in (broker, plain):
                if b is not None:
                    b.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
