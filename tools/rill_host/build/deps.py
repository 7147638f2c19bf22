#!/usr/bin/env python3
"""Fetch the pinned MicroPython libraries listed in tools/rill_host/build/deps.lock into .deps/.

Some micropython-lib packages (e.g. micropython-umqtt.simple 1.3.4) are published
only as an sdist without setup.py, so pip cannot install them. This script finds
the archive by name on the same package index pip uses, checks it against the
sha256 pinned in the lock file, and unpacks the listed members.

Index, in pip's order: $PIP_INDEX_URL, else pip's configured index-url
(`pip config list`: install.index-url, then global.index-url), else pip's own
built-in default. No index host is named in this repository.

Stdlib only (pip is consulted as a subprocess). Usage:
    python -m rill_host.build.deps            # fetch what is missing or stale
    python -m rill_host.build.deps --check    # verify only, never touch the network
Exit status 0 on success, 1 with one sentence on stderr otherwise.
"""
import base64
import hashlib
import html.parser
import io
import json
import os
import re
import ssl
import subprocess
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from rill_host import DEPS_HOME
from rill_host.common import CliError, Parser, cli, sha256_file

LOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deps.lock")
SDIST_EXTS = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
DEFAULT_TIMEOUT_S = 60


DepsError = CliError  # one sentence, exit status 1 (common.cli)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def normalize(name):
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def redact(url):
    """Drop any user:password@ from a URL before printing it."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


# ---------------------------------------------------------------- pip settings

def pip_config():
    """pip's merged configuration as {'section.key': value}, from `pip config list`."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise DepsError("cannot read pip's configuration with %s -m pip (%s); run this with the "
                        "project venv's python (make setup)" % (sys.executable, e))
    config = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+?)='(.*)'$", line.strip())
        if m:
            config[m.group(1)] = m.group(2)
    return config


def pip_default_index():
    try:
        return subprocess.run([sys.executable, "-c",
                               "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"],
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise DepsError("cannot ask pip for its default index and neither PIP_INDEX_URL nor pip's "
                        "index-url is set (%s)" % e)


class Settings:
    def __init__(self):
        config = pip_config()
        self.index_url = (os.environ.get("PIP_INDEX_URL") or config.get("install.index-url")
                          or config.get("global.index-url") or pip_default_index())
        self.index_url = self.index_url.split()[0]
        cafile = (os.environ.get("PIP_CERT") or config.get(":env:.cert") or config.get("install.cert")
                  or config.get("global.cert"))
        timeout = (os.environ.get("PIP_DEFAULT_TIMEOUT") or os.environ.get("PIP_TIMEOUT")
                   or config.get("global.timeout") or config.get("global.default-timeout"))
        try:
            self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT_S
        except ValueError:
            self.timeout = DEFAULT_TIMEOUT_S
        try:
            self.ssl = ssl.create_default_context(cafile=cafile if cafile and os.path.exists(cafile) else None)
        except ssl.SSLError as e:
            raise DepsError("cannot load pip's CA bundle %s (%s)" % (cafile, e))
        # credentials in the index URL are sent to the index host only, as a header
        parts = urllib.parse.urlsplit(self.index_url)
        self.auth_host, self.auth_header = None, None
        if "@" in parts.netloc:
            userinfo, host = parts.netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            token = "%s:%s" % (urllib.parse.unquote(user), urllib.parse.unquote(password))
            self.auth_host = host
            self.auth_header = "Basic " + base64.b64encode(token.encode()).decode()
            self.index_url = urllib.parse.urlunsplit(parts._replace(netloc=host))


# ---------------------------------------------------------------- index access

def fetch(settings, url, accept=None):
    """Return (body bytes, final url, content type)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        path = urllib.request.url2pathname(parts.path)
        if os.path.isdir(path):  # a file:// simple index is a tree of index.html files
            path = os.path.join(path, "index.html")
        try:
            with open(path, "rb") as f:
                return f.read(), url, "text/html"
        except OSError as e:
            raise DepsError("cannot read %s (%s)" % (url, e.strerror or e))
    request = urllib.request.Request(url, headers={"User-Agent": "rill-deps/1"})
    if accept:
        request.add_header("Accept", accept)
    if settings.auth_header and parts.netloc == settings.auth_host:
        request.add_header("Authorization", settings.auth_header)
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout, context=settings.ssl) as response:
            return response.read(), response.geturl(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raise DepsError("%s answered HTTP %s %s" % (redact(url), e.code, e.reason))
    except urllib.error.URLError as e:
        raise DepsError("network error fetching %s (%s)" % (redact(url), e.reason))
    except OSError as e:  # timeouts, resets
        raise DepsError("network error fetching %s (%s)" % (redact(url), e))


class LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.base = None
        self.links = []  # (href, text)
        self._href = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "base" and attrs.get("href") and self.base is None:
            self.base = attrs["href"]
        elif tag == "a" and attrs.get("href"):
            self._href, self._text = attrs["href"], []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def project_files(settings, name):
    """[(filename, absolute url without fragment, sha256 or None)] from the PEP 503/691 simple page."""
    page = settings.index_url.rstrip("/") + "/" + normalize(name) + "/"
    accept = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
              "text/html;q=0.01")
    body, final_url, ctype = fetch(settings, page, accept)
    files = []
    if "json" in ctype:
        try:
            for entry in json.loads(body.decode("utf-8"))["files"]:
                url = urllib.parse.urljoin(final_url, entry["url"])
                files.append((entry["filename"], urllib.parse.urldefrag(url)[0],
                              entry.get("hashes", {}).get("sha256")))
        except (ValueError, KeyError, TypeError) as e:
            raise DepsError("the index page %s is not valid simple-API JSON (%s)" % (redact(page), e))
        return files
    parser = LinkParser()
    parser.feed(body.decode("utf-8", "replace"))
    base = urllib.parse.urljoin(final_url, parser.base) if parser.base else final_url
    for href, text in parser.links:
        url, fragment = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))
        filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]) or text
        digest = None
        m = re.search(r"(?:^|&)sha256=([0-9a-fA-F]{64})", fragment)
        if m:
            digest = m.group(1).lower()
        files.append((filename, url, digest))
    return files


def find_sdist(files, name, version):
    for filename, url, digest in files:
        for ext in SDIST_EXTS:
            if filename.lower().endswith(ext):
                stem = filename[:-len(ext)]
                fname, _, fversion = stem.rpartition("-")
                if normalize(fname) == normalize(name) and fversion == version:
                    return filename, url, digest
    return None


# ---------------------------------------------------------------- unpacking

def read_members(filename, data):
    """{path inside the project (top directory stripped): bytes} for regular files."""
    out = {}
    if filename.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if not info.is_dir():
                    out[info.filename.split("/", 1)[-1]] = z.read(info)
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
            for info in t.getmembers():
                if info.isfile():
                    out[info.name.split("/", 1)[-1]] = t.extractfile(info).read()
    return out


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- main

def up_to_date(pkg):
    try:
        return all(sha256_file(os.path.join(DEPS_HOME, f["dest"])) == f["sha256"] for f in pkg["files"])
    except OSError:  # not installed yet
        return False


def install(settings, pkg):
    name, version, pinned = pkg["name"], pkg["version"], pkg["sha256"].lower()
    found = find_sdist(project_files(settings, name), name, version)
    if not found:
        raise DepsError("%s %s has no source archive on the package index %s"
                        % (name, version, redact(settings.index_url)))
    filename, url, listed = found
    if listed and listed != pinned:
        raise DepsError("the index lists sha256 %s for %s but tools/rill_host/build/deps.lock pins %s"
                        % (listed, filename, pinned))
    data, _, _ = fetch(settings, url)
    actual = sha256_bytes(data)
    if actual != pinned:
        raise DepsError("hash mismatch for %s: downloaded sha256 %s, tools/rill_host/build/deps.lock pins %s"
                        % (filename, actual, pinned))
    try:
        members = read_members(filename, data)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as e:
        raise DepsError("cannot unpack %s (%s)" % (filename, e))
    for f in pkg["files"]:
        content = members.get(f["member"])
        if content is None:
            raise DepsError("%s has no member %s" % (filename, f["member"]))
        if sha256_bytes(content) != f["sha256"]:
            raise DepsError("hash mismatch for %s in %s: tools/rill_host/build/deps.lock pins %s"
                            % (f["member"], filename, f["sha256"]))
        write_atomic(os.path.join(DEPS_HOME, f["dest"]), content)
    print("deps: installed %s %s -> %s" % (name, version, ", ".join(f["dest"] for f in pkg["files"])))


def locked():
    """tools/rill_host/build/deps.lock's packages: [{name, version, sha256, files: [{member, dest, sha256}]}]."""
    try:
        with open(LOCK) as f:
            return json.load(f)["packages"]
    except (OSError, ValueError, KeyError) as e:
        raise DepsError("cannot read the lock file %s (%s)" % (LOCK, e))


def main(argv):
    p = Parser(prog="python -m rill_host.build.deps", description="Fetch the MicroPython libraries pinned in tools/rill_host/build/deps.lock into .deps/.")
    p.add_argument("--check", action="store_true", help="verify only, never touch the network")
    check_only = p.parse_args(argv).check
    settings = None
    for pkg in locked():
        if up_to_date(pkg):
            continue
        if check_only:
            raise DepsError("%s %s is missing or stale in .deps/; run 'make setup'" % (pkg["name"], pkg["version"]))
        if settings is None:
            settings = Settings()
        install(settings, pkg)
    return 0


if __name__ == "__main__":
    cli(main, "python -m rill_host.build.deps")
