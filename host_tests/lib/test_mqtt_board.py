"""An MQTT bridge on a board without networking fails at build(), not late.

The bridge (about 42 KB of heap as .mpy on this 64-bit unix port) plus a simulated
board do not fit the default 128 KB test heap beside the test's own code; a 32-bit
board needs about half of that.
"""
from testkit import raises

MP_HEAPSIZE = "256K"


def test_an_mqtt_bridge_fails_the_build_on_a_board_without_networking():
    from rill import GraphError, Pipeline, Ring, board
    from rill.mqtt import Bridge

    p = Pipeline("cloud")
    p.record("temp", float, Ring(4))
    p.source("temp")
    mq = Bridge("127.0.0.1", device="pico-1", seq=None)
    mq.publish("temp", "site/{device}/temp")
    mq.attach(p)
    with raises(GraphError, match="needs network, which board RPI_PICO does not have"):
        p.build(board=board.load("RPI_PICO"))
    p2 = Pipeline("cloud")
    p2.record("temp", float, Ring(4))
    p2.source("temp")
    Bridge("127.0.0.1", device="pico-w", seq=None).attach(p2)
    p2.build(board=board.load("RPI_PICO_W"))
