"""Home Assistant MQTT discovery for a Bridge: one retained device message, built once.

    from rill.mqtt.discovery import Discovery

    ha = Discovery(mq, model="ESP32_GENERIC")      # node id: the bridge's device id
    ha.sensor("smooth", name="Temperature", unit="°C", device_class="temperature",
              state_class="measurement")
    ha.binary_sensor("alarm", name="Alarm", device_class="heat")
    ha.switch("cmd", "led", name="LED")            # a field of an inbound record
    ha.number("cmd", "threshold_c", min=15, max=35, step=0.5, unit="°C")
    mq.attach(p)                                   # builds the message; errors show here

Topics are never repeated: a sensor's state topic is the topic its record is
published to (``mq.publish``), a command's topic the one its record is subscribed
from (``mq.subscribe``). The value template reads the envelope
(``{{ value_json.v }}``, ``{{ value_json.v.<field> }}`` for a shape); a command sends
exactly what the inbound link accepts: ``{"<field>": true}``/``false`` (switch),
``{"<field>": <value>}`` (number, a command template), ``{"<field>": <press>}``
(button). Availability is the bridge's birth and last will (its status topic).

The message goes to ``<prefix>/device/<node>/config``, retained, QoS 1, after every
CONNACK (the bridge calls ``online()``; it leaves right after the birth; a copy still
waiting from the last connection is replaced, not repeated), and again
after a random delay (``delay_ms``) whenever ``<prefix>/status`` says ``online`` (Home
Assistant's birth). ``remove()`` publishes the empty retained payload that removes the
device, and stops announcing until ``announce()``.

Metadata (unit, device class, ...) is declared here rather than on the records, so
the core and the bridge carry none of it: only an app that imports this module pays.
Heap: this module (what runs while the device is up: the declarations' surface, the
sending), the declarations until ``attach()``, then the message itself (``len(ha.payload)``
bytes, about 1.9 KB for the example app), kept to re-send; a record (HA's status, bytes)
and a tap. What runs once (checking the declarations, building the message) is
discovery_setup.py, loaded for each call and unloaded after (rill.mqtt._prep). Each
re-send copies the message into the outbox, over a copy still waiting there (one copy
at most).
"""
from . import _prep


def _delay(lo, hi):
    try:
        from random import getrandbits
    except ImportError:  # a port without random: the longest delay
        return hi
    return lo + getrandbits(16) % (hi - lo + 1)


class Discovery:
    """Declares a device's Home Assistant entities; the Bridge announces them.

    ``node``: the device's id in Home Assistant (default: the bridge's device id);
    ``name``: its display name; ``model``: the board; ``build``: the build identity,
    appended to the rill version in ``dev.sw`` (``0.1.0+<lib>.<app>``, 12 hex each);
    by default read from ``build_file`` when a deploy left one (rill.identity), none
    otherwise; ``support_url``: the origin's; ``prefix``: the discovery prefix;
    ``delay_ms``: (min, max) random delay of a re-send when Home Assistant comes online;
    ``record``: the record that receives Home Assistant's status.
    """

    def __init__(self, bridge, node=None, name=None, model=None, build=None, manufacturer=None,
                 support_url=None, prefix="homeassistant", delay_ms=(500, 5000), record="homeassistant",
                 build_file="build.json"):
        _prep("discovery_setup.init", self, bridge, node, name, model, build, manufacturer, support_url, prefix,
              delay_ms, record, build_file)

    # -- declaration ---------------------------------------------------------------------

    def sensor(self, key, field=None, **meta):
        """Record ``key`` (or its ``field``), as published, is a sensor's state."""
        return self._add("sensor", key, field, meta)

    def binary_sensor(self, key, field=None, **meta):
        """Record ``key`` (or its ``field``), as published, is on when true."""
        return self._add("binary_sensor", key, field, meta)

    def switch(self, key, field, **meta):
        """A switch that sends ``{field: true}``/``{field: false}`` to inbound record ``key``
        (no state topic: Home Assistant shows what it last sent)."""
        return self._add("switch", key, field, meta)

    def number(self, key, field, min, max, step=1, **meta):
        """A number that sends ``{field: value}`` to inbound record ``key``."""
        meta.update(min=min, max=max, step=step)
        return self._add("number", key, field, meta)

    def button(self, key, field, press=True, **meta):
        """A button that sends ``{field: press}`` to inbound record ``key``."""
        meta["press"] = press
        return self._add("button", key, field, meta)

    def _add(self, platform, key, field, meta):
        _prep("discovery_setup.add", self, platform, key, field, meta)
        return self

    # -- the message ---------------------------------------------------------------------

    def attach(self, p):
        """Called by ``Bridge.attach(p)``: declare the status record and its tap, and
        build the message. ValueError names a record the bridge cannot carry to HA."""
        _prep("discovery_setup.attach", self, p)

    def build(self):
        """The discovery message (bytes), from the declarations and the bridge's links."""
        return _prep("discovery_setup.build", self)

    # -- sending -------------------------------------------------------------------------

    def online(self):
        """Called by the bridge after each CONNACK: queue the message (unless removed)."""
        if not self.removed and self.payload is not None:
            self._put(self.payload)

    def announce(self):
        """Queue the message now (and after every connect again, after a remove())."""
        self.removed = False
        self.online()

    def remove(self):
        """Queue the empty retained payload that removes the device from Home Assistant."""
        self.removed = True
        self._put(b"")

    def _put(self, payload):
        """Queue it, replacing a copy still waiting in the outbox (bridge.put); a refusal
        (the outbox full, policy DROP_NEWEST) is a dead letter."""
        self.sent += 1
        if not self.bridge.put(self.topic, payload, 1, True):
            self.bridge.inbox.reject("unsent", "ha_discovery", self.topic, "the outbox refused it (full)")

    def _ha_status(self, status):
        if status == b"online" and self._later is None and not self.removed:
            import asyncio

            self._later = asyncio.create_task(self._resend(_delay(*self.delay_ms)))

    async def _resend(self, ms):
        import asyncio

        try:
            await asyncio.sleep_ms(ms)
            self.online()
        finally:
            self._later = None
