"""First configuration: a board with no Wi-Fi credentials opens an access point and serves
one page to enter them (ESPHome's fallback AP and captive portal, without the DNS).

rill.wifi loads this only when config.json's ``wifi`` has no ``ssid`` and has ``ap``:

    "wifi": {"ap": {"ssid": "node-setup", "password": "", "port": 80}}

``Portal.serve`` turns the access point on and serves HTTP on its address with
``asyncio.start_server``: ``GET /`` is the form (network name, password), ``POST /``
checks the two fields (a name of 1-32 bytes, a password empty or of 8-63 characters or 64
hex digits), joins with them (rill.wifi's bounded attempt), and on success writes them
into config.json's ``wifi`` (where the app reads them at its next start: written aside,
then renamed) and closes the page and the access point. A join that fails shows its reason
(wrong password, no such network) with the form again. Any other GET is sent to ``/``
(phones probe a URL of their own to find a portal).

Bad input gets ``400`` and one sentence, and ``refused`` counts it (``reason`` keeps the
last): a request of more than ``MAX_REQUEST`` bytes, one not complete within
``TIMEOUT_MS``, a malformed request line or Content-Length, a missing or out-of-bounds
field, a bad %-escape or non-UTF-8 text. Every read is bounded, and at most
``MAX_CLIENTS`` connections are served at once (more are closed with 503).

Heap: nothing unless a board starts without credentials (rill.wifi imports it then);
while serving, the server and one request of at most MAX_REQUEST bytes per client.
"""
import asyncio
import json
import os

MAX_REQUEST = 1024  # bytes: request line, headers and body
TIMEOUT_MS = 5000  # a request must arrive whole within this
MAX_CLIENTS = 2
FORM = ('<form method="post" action="/"><p><label>Network <input name="ssid" maxlength="32" required>'
        '</label></p><p><label>Password <input name="password" type="password" maxlength="64"></label></p>'
        '<p><button>Join</button></p></form>')


class Bad(Exception):
    """A request refused with 400; the argument is the one sentence."""


class Portal:
    def __init__(self, wifi, ap, ssid="rill-setup", password="", port=80, config="config.json"):
        self.wifi = wifi  # rill.wifi.WiFi: its join() tries the credentials
        self.ap = ap
        self.ssid = ssid
        self.password = password
        self.port = port
        self.config = config
        self.note = "Enter the Wi-Fi network this board should join."
        self.clients = 0
        self.refused = 0  # requests answered with 400
        self.reason = ""  # the last one's sentence
        self.done = None

    async def serve(self, emit=None):
        """Serve the page on the access point until credentials have joined and been saved."""
        ap = self.ap
        ap.active(True)
        if self.password:
            ap.config(ssid=self.ssid, key=self.password)
        else:
            ap.config(ssid=self.ssid)
        host = ap.ifconfig()[0]
        self.done = asyncio.Event()
        server = await asyncio.start_server(self._client, host, self.port)
        if emit is not None:
            self.wifi._emit(emit, "portal", ip=host, reason="access point %s: http://%s:%d/" % (self.ssid, host,
                                                                                             self.port))
        try:
            await self.done.wait()
        finally:
            server.close()
            await server.wait_closed()
            ap.active(False)

    async def _client(self, reader, writer):
        if self.clients >= MAX_CLIENTS:
            await _send(writer, 503, "Busy", "Another client is being served; try again in a moment.")
            return
        self.clients += 1
        try:
            try:
                method, path, body = await asyncio.wait_for(_read(reader), TIMEOUT_MS / 1000)
                await self._answer(writer, method, path, body)
            except Bad as e:
                self.refused += 1
                self.reason = e.args[0]
                await _drain(reader)
                await _send(writer, 400, "Bad Request", self.reason)
            except asyncio.TimeoutError:
                self.refused += 1
                self.reason = "The request did not arrive whole within %d ms." % TIMEOUT_MS
                await _send(writer, 400, "Bad Request", self.reason)
        except OSError:
            pass  # the client went away
        finally:
            self.clients -= 1

    async def _answer(self, writer, method, path, body):
        if method == b"GET":
            if path != b"/":
                await _send(writer, 302, "Found", "", b"Location: http://%s:%d/\r\n" % (
                    self.ap.ifconfig()[0].encode(), self.port))
            else:
                await _send(writer, 200, "OK", self._page())
            return
        if method != b"POST":
            raise Bad("Only GET and POST are served here.")
        if path != b"/":
            raise Bad("Credentials are posted to / only.")
        ssid, password = form(body)
        reason = await self.wifi.join(ssid, password)
        if reason is not None:
            self.note = "Could not join %s: %s. Check the name and password." % (_html(ssid), reason)
            await _send(writer, 200, "OK", self._page())
            return
        self.save(ssid, password)
        await _send(writer, 200, "OK", "<p>Joined %s; saved to %s.</p>" % (_html(ssid), self.config))
        self.done.set()

    def _page(self):
        return "<!DOCTYPE html><title>%s</title><h1>%s</h1><p>%s</p>%s" % (
            _html(self.ssid), _html(self.ssid), self.note, FORM)

    def save(self, ssid, password):
        """Put the credentials in config.json's ``wifi`` (the rest of the file kept)."""
        try:
            with open(self.config) as f:
                cfg = json.load(f)
        except OSError:
            cfg = {}
        wifi = cfg.get("wifi")
        wifi = dict(wifi) if isinstance(wifi, dict) else {}
        wifi["ssid"], wifi["password"] = ssid, password
        cfg["wifi"] = wifi
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(cfg))
        os.rename(tmp, self.config)


async def _read(reader):
    """(method, path, body) of one request of at most MAX_REQUEST bytes; Bad otherwise."""
    buf = b""
    while True:
        chunk = await reader.read(MAX_REQUEST + 1 - len(buf))
        if not chunk:
            raise Bad("The request ended before it was complete.")
        buf += chunk
        if len(buf) > MAX_REQUEST:
            raise Bad("The request is longer than %d bytes." % MAX_REQUEST)
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            continue
        lines = buf[:end].split(b"\r\n")
        first = lines[0].split(b" ")
        if len(first) != 3 or not first[2].startswith(b"HTTP/1."):
            raise Bad("The request line is not METHOD /path HTTP/1.x.")
        length = 0
        for ln in lines[1:]:
            kv = ln.split(b":", 1)
            if len(kv) == 2 and kv[0].strip().lower() == b"content-length":
                try:
                    length = int(kv[1].strip())
                except ValueError:
                    length = -1
                if length < 0:
                    raise Bad("The Content-Length is not a number of bytes.")
        if end + 4 + length > MAX_REQUEST:
            raise Bad("The request is longer than %d bytes." % MAX_REQUEST)
        if len(buf) >= end + 4 + length:
            return first[0], first[1], buf[end + 4:end + 4 + length]


async def _drain(reader, most=4 * MAX_REQUEST):
    """Discard what the client has sent beyond the refused request (at most ``most`` bytes,
    200 ms), so that closing does not reset the connection before it reads the answer."""
    try:
        while most > 0:
            chunk = await asyncio.wait_for(reader.read(256), 0.2)
            if not chunk:
                return
            most -= len(chunk)
    except (asyncio.TimeoutError, OSError):
        pass


def form(body):
    """(ssid, password) from an urlencoded form body; Bad with the reason if they do not fit."""
    fields = {}
    for pair in body.split(b"&"):
        kv = pair.split(b"=", 1)
        if len(kv) == 2:
            fields[_unquote(kv[0])] = _unquote(kv[1])
    if "ssid" not in fields or "password" not in fields:
        raise Bad("The form needs both fields, ssid and password.")
    ssid, password = fields["ssid"], fields["password"]
    n = len(ssid.encode())
    if not 1 <= n <= 32:
        raise Bad("A network name is 1 to 32 bytes long; this one is %d." % n)
    n = len(password)
    if n and not (8 <= n <= 63 or (n == 64 and _hex(password))):
        raise Bad("A password is empty (an open network) or 8 to 63 characters; this one is %d." % n)
    return ssid, password


def _hex(s):
    try:
        int(s, 16)
        return True
    except ValueError:
        return False


def _unquote(b):
    """Form-urlencoded bytes to text: '+' is a space, %XX a byte, the result UTF-8."""
    parts = b.replace(b"+", b" ").split(b"%")
    out = bytearray(parts[0])
    for p in parts[1:]:
        try:
            if len(p) < 2:
                raise ValueError
            out.append(int(p[:2].decode(), 16))
        except ValueError:
            raise Bad("The form has a malformed %-escape.")
        out += p[2:]
    try:
        return bytes(out).decode()
    except UnicodeError:
        raise Bad("The form is not UTF-8 text.")


def _html(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


async def _send(writer, code, text, body, headers=b""):
    body = body.encode()
    writer.write(b"HTTP/1.0 %d %s\r\nContent-Type: text/%s; charset=utf-8\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n%s\r\n" % (code, text.encode(), b"html" if body.startswith(b"<") else b"plain",
                                                    len(body), headers) + body)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
