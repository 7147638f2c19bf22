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
Heap: the module, the declarations until ``attach()``, then the message itself
(``len(ha.payload)`` bytes, about 1.9 KB for the example app), kept to re-send; a
record (HA's status, bytes) and a tap. Each re-send copies it into the outbox, over
a copy still waiting there (one copy at most).
"""
import json

from .. import __version__
from ..jsontext import SEP as _SEP
from .raw import RAW

# keyword -> Home Assistant's abbreviation (its MQTT discovery documentation)
_META = {"name": "name", "unit": "unit_of_meas", "device_class": "dev_cla", "state_class": "stat_cla",
         "icon": "ic", "category": "ent_cat", "min": "min", "max": "max", "step": "step", "mode": "mode",
         "enabled": "en"}


def _check(what, s, extra="-"):
    """Home Assistant's ids: [a-zA-Z0-9_-]; field names in templates: [a-zA-Z0-9_]."""
    for c in s:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "_" or c in extra):
            raise ValueError("%s %r: use letters, digits, _%s only" % (what, s, extra and " and -"))
    if not s:
        raise ValueError("%s is empty" % what)
    return s


def _delay(lo, hi):
    try:
        from random import getrandbits
    except ImportError:  # a port without random: the longest delay
        return hi
    return lo + getrandbits(16) % (hi - lo + 1)


def _build_tag(path):
    """``<lib>.<app>`` hashes (12 hex each) of the build.json at ``path``, or None."""
    try:
        open(path).close()
    except OSError:
        return None  # no build.json: rill.identity is not even imported
    from .. import identity

    ident = identity.load(path)
    if not identity.known(ident):
        return None
    short = identity.short(ident)
    return "%s.%s" % (short["lib"], short["app"])


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
        self.bridge = bridge
        self.node = _check("node", node or bridge.device)
        self.topic = ("%s/device/%s/config" % (prefix, self.node)).encode()
        self.key = record
        self.delay_ms = delay_ms
        self.payload = None  # built by attach()
        self.sent = 0  # messages queued: announcements and removals
        self.removed = False
        self._later = None
        build = build or _build_tag(build_file)
        sw = __version__ if build is None else "%s+%s" % (__version__, build)
        dev = {"ids": [self.node], "name": name or self.node, "sw": sw}
        for k, v in (("mdl", model), ("mf", manufacturer)):
            if v:
                dev[k] = v
        origin = {"name": "rill", "sw": __version__}
        if support_url:
            origin["url"] = support_url
        self._head = (dev, origin)
        self._cmps = []
        bridge.subscribe(prefix + "/status", record, codec=RAW, max_size=16)
        bridge.addons.append(self)

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
        _check("record", key)
        if field is not None:
            _check("field", field, "")
        for k in meta:
            if k not in _META and k != "press":
                raise TypeError("%s %r: unknown option %r (options: %s)" % (platform, key, k, ", ".join(sorted(_META))))
        self._cmps.append((platform, key, field, meta))
        return self

    # -- the message ---------------------------------------------------------------------

    def attach(self, p):
        """Called by ``Bridge.attach(p)``: declare the status record and its tap, and
        build the message. ValueError names a record the bridge cannot carry to HA."""
        p.record(self.key, bytes)
        p.tap(self.key, self._ha_status, name="ha_discovery")
        self.payload = self.build()
        self._cmps = self._head = None  # the message is all that is needed from now on
        from .packet import publish_size

        need = publish_size(len(self.topic), len(self.payload), 1)
        if need > self.bridge.outbox.size:
            raise ValueError("the discovery message (%d bytes) does not fit the outbox (%d bytes): raise outbox_bytes"
                             % (need, self.bridge.outbox.size))

    def build(self):
        """The discovery message (bytes), from the declarations and the bridge's links."""
        b = self.bridge
        dev, origin = self._head
        cmps = {}
        for platform, key, field, meta in self._cmps:
            cid = key if field is None else "%s_%s" % (key, field)
            if cid in cmps:
                raise ValueError("%s %r: declared twice" % (platform, cid))
            uid = "%s_%s" % (self.node, cid)
            c = {"p": platform, "uniq_id": uid, "def_ent_id": platform + "." + uid.lower().replace("-", "_")}
            if platform in ("sensor", "binary_sensor"):
                _state(c, _link(b.outs, key, platform, "published (mq.publish)"), platform, key, field)
            else:
                _command(c, _link(b.ins, key, platform, "subscribed (mq.subscribe)"), platform, key, field, meta)
            for k in meta:
                if k != "press":
                    c[_META[k]] = meta[k]
            cmps[cid] = c
        doc = {"dev": dev, "o": origin, "avty_t": b.status_topic.decode(), "avty_tpl": "{{ value_json.status }}",
               "pl_avail": "online", "pl_not_avail": "offline", "qos": 1, "cmps": cmps}
        return json.dumps(doc, separators=_SEP).encode()

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


def _state(c, link, platform, key, field):
    if link.fixed is None:
        raise ValueError("%s %r: topic %r has fields; HA needs one state topic" % (platform, key, link.template))
    c["stat_t"] = link.fixed.decode()
    path = "value_json" + (".v" if link.envelope else "") + ("." + field if field else "")
    c["val_tpl"] = ("{{ %s }}" if platform == "sensor" else "{{ 'ON' if %s else 'OFF' }}") % path


def _command(c, link, platform, key, field, meta):
    if link.envelope or b"+" in link.filter or b"#" in link.filter:
        raise ValueError("%s %r: HA sends bare JSON to one topic: subscribe %r without wildcards or envelope"
                         % (platform, key, link.template))
    c["cmd_t"] = link.filter.decode()
    if platform == "switch":
        c["pl_on"] = json.dumps({field: True}, separators=_SEP)
        c["pl_off"] = json.dumps({field: False}, separators=_SEP)
    elif platform == "number":
        c["cmd_tpl"] = '{"%s":{{ value }}}' % field
    else:
        c["pl_prs"] = json.dumps({field: meta["press"]}, separators=_SEP)


def _link(links, key, platform, how):
    for link in links:
        if link.key == key:
            if link.codec.name != "json":
                raise ValueError("%s %r: HA reads JSON; the link uses %s" % (platform, key, link.codec.name))
            return link
    raise ValueError("%s %r: record %r is not %s" % (platform, key, key, how))
