"""The OTA bench's baseline device (tools/rill_host/bench/ota.py): a bare umqtt.simple
subscriber that writes the payloads of ``bench/pipe`` (1 KB chunks, after a 5-byte
header) to a file until ``total`` bytes came, then says ``bench/done``. No manifest,
no hashes, no checks: what the link and the flash take, with no rill in the way.

    micropython ota_pipe_mp.py PORT TOTAL PATH
"""
import sys

from umqtt.simple import MQTTClient

port, total, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
got = 0
f = open(path, "wb")


def cb(topic, msg):
    global got
    f.write(memoryview(msg)[5:])
    got += len(msg) - 5


c = MQTTClient("bench-pipe", "127.0.0.1", port)
c.set_callback(cb)
c.connect()
c.subscribe(b"bench/pipe")
c.publish(b"bench/ready", b"1")
while got < total:
    c.wait_msg()
f.close()
c.publish(b"bench/done", b"%d" % got)
c.disconnect()
