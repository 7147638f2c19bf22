"""Home Assistant discovery's setup (discovery.py): checking the declarations and building
the message. Runs once, at declaration and attach(): loaded for each call and unloaded
after (rill.mqtt._prep), so a running device keeps only discovery.py and the message.
"""
import json

from .. import __version__
from ..jsontext import SEP as _SEP

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


def init(self, bridge, node, name, model, build, manufacturer, support_url, prefix, delay_ms, record,
         build_file):
    """Discovery(...): the device's head of the message, HA's status subscription."""
    from .raw import RAW

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


def add(self, platform, key, field, meta):
    """One declared entity, checked now: a bad id or option raises where it was declared."""
    _check("record", key)
    if field is not None:
        _check("field", field, "")
    for k in meta:
        if k not in _META and k != "press":
            raise TypeError("%s %r: unknown option %r (options: %s)" % (platform, key, k, ", ".join(sorted(_META))))
    self._cmps.append((platform, key, field, meta))


def attach(self, p):
    """Discovery.attach: the status record and its tap, then the message, kept."""
    p.record(self.key, bytes)
    p.tap(self.key, self._ha_status, name="ha_discovery")
    self.payload = build(self)
    self._cmps = self._head = None  # the message is all that is needed from now on
    from .packet import publish_size

    need = publish_size(len(self.topic), len(self.payload), 1)
    if need > self.bridge.outbox.size:
        raise ValueError("the discovery message (%d bytes) does not fit the outbox (%d bytes): raise outbox_bytes"
                         % (need, self.bridge.outbox.size))


def build(self):
    """Discovery.build: the message (bytes), from the declarations and the bridge's links."""
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
    text = json.dumps({"dev": dev, "o": origin, "avty_t": b.status_topic.decode(),
                       "avty_tpl": "{{ value_json.status }}", "pl_avail": "online", "pl_not_avail": "offline",
                       "qos": 1, "cmps": cmps}, separators=_SEP)
    cmps = None  # the tree is garbage before the bytes are made: a small heap holds the text twice at most
    return text.encode()


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
