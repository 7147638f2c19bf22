"""PUBLISH packets read back from bytes an outbox wrote, for the MQTT tests: in a module of
its own, since a test module that imports another makes MicroPython compile that whole
file in the test's heap."""


def publish_packets(data):
    """Split a byte stream into (flags, topic, pid, payload) PUBLISH tuples."""
    out = []
    i = 0
    while i < len(data):
        op = data[i]
        rem, shift, i = 0, 0, i + 1
        while True:
            b = data[i]
            i += 1
            rem |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        tl = data[i] << 8 | data[i + 1]
        topic = bytes(data[i + 2:i + 2 + tl])
        j = i + 2 + tl
        pid = 0
        if op & 6:
            pid = data[j] << 8 | data[j + 1]
            j += 2
        out.append((op, topic, pid, bytes(data[j:i + rem])))
        i += rem
    return out
