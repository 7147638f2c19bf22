#!/usr/bin/env python3
"""``app_peak_heap_32bit``: the peak live heap of the example app and of a `rill new`
project, per board, measured on a 32-bit MicroPython (the webassembly port, under node).

    python tools/bench_heap32.py        # last stdout line: one JSON object

The port comes from npm (PACKAGE at VERSION into .deps/npm, its files checked against
SHA256). It has no native emitter, so the sources are staged with every
``@micropython.native`` decorator line blanked (line numbers kept) and compiled to .mpy,
as deploy ships them. Its heap grows on demand, so the figure is the live heap after a
collection at each step (tools/heap32_mp.py), not a heap size that was enforced. Without
node or npm it reports why instead of figures.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from build import compile_file  # noqa: E402  (the one build step)
from common import ROOT, CliError, need_micropython, sha256_file  # noqa: E402

NPM_DIR = os.path.join(ROOT, ".deps", "npm")
PACKAGE = "@micropython/micropython-webassembly-pyscript"
VERSION = "1.27.0"
SHA256 = {
    "micropython.wasm": "06338c955b03c5700aa0069015d3e392d76836ef8e2ce25bedbe59b88ccd373c",
    "micropython.mjs": "c2be87e7ba24e3b47d133022b009a66bff07f4720aa23d816d216ef8cc47014c",
}
NATIVE = re.compile(r"^[ \t]*@micropython\.native[ \t]*$", re.M)
APPS = {"example": os.path.join(ROOT, "firmware", "app.py"),
        "scaffold": os.path.join(TOOLS, "rill_host", "template", "app.py")}
NO_NETWORK = '''"""No network here (the heap bench): every connection is refused."""
AF_INET = 2
SOCK_STREAM = 1
IPPROTO_TCP = 6
TCP_NODELAY = 1
SOL_SOCKET = 1
SO_REUSEADDR = 4


def getaddrinfo(*args):
    raise OSError(113)


def socket(*args):
    raise OSError(113)
'''
DRIVER = r'''
import { loadMicroPython } from "%s";
import fs from "node:fs";
import path from "node:path";
const [stage, kind, board] = process.argv.slice(-3);
let out = [];
const mp = await loadMicroPython({heapsize: 16 * 1024, linebuffer: true,
                                  stdout: (l) => out.push(l), stderr: (l) => process.stderr.write(l + "\n")});
function copy(dir, to) {
  mp.FS.mkdirTree(to);
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) copy(p, to + "/" + name);
    else mp.FS.writeFile(to + "/" + name, fs.readFileSync(p));
  }
}
copy(path.join(stage, "lib"), "/lib");
copy(path.join(stage, "boards"), "/boards");
copy(path.join(stage, "app", kind), "/app");
await mp.runPythonAsync(`
import sys
sys.path[:] = ["/app", "/lib", ".frozen"]
import heap32
print("peak", await heap32.measure("${kind}", "${board}"))
`);
for (const l of out) console.log(l);
'''


BenchError = CliError


def install():
    """The pinned port in .deps/npm (npm installs it once), its files checked."""
    pkg = os.path.join(NPM_DIR, "node_modules", *PACKAGE.split("/"))
    if not os.path.exists(os.path.join(pkg, "micropython.wasm")):
        proc = subprocess.run(["npm", "install", "--prefix", NPM_DIR, "--no-audit", "--no-fund", "--no-save",
                               "%s@%s" % (PACKAGE, VERSION)], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise BenchError("npm install %s@%s failed: %s" % (PACKAGE, VERSION, proc.stderr.strip()[-300:]))
    for name, want in SHA256.items():
        if sha256_file(os.path.join(pkg, name)) != want:
            raise BenchError("%s/%s does not match its pinned sha256" % (PACKAGE, name))
    return os.path.join(pkg, "micropython.mjs")


def _compile(src, dst):
    """``src`` as bytecode-only .mpy at ``dst``, its ``@micropython.native`` lines blanked first."""
    with open(src) as f:
        text = NATIVE.sub("", f.read())
    tmp = dst[:-4] + ".py"
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(tmp, "w") as f:
        f.write(text)
    try:
        compile_file(tmp, dst, None, ["-s", os.path.relpath(src, ROOT)])
    finally:
        os.remove(tmp)


def stage(out):
    for top in (os.path.join(ROOT, "lib"), os.path.join(ROOT, ".deps", "micropython")):
        for dirpath, _, files in os.walk(top):
            for name in files:
                if name.endswith(".py") and name != "cpython_compat.py":
                    rel = os.path.relpath(os.path.join(dirpath, name), top)
                    _compile(os.path.join(dirpath, name), os.path.join(out, "lib", rel[:-3] + ".mpy"))
    for name in ("usocket.py", "socket.py"):
        with open(os.path.join(out, "lib", name), "w") as f:
            f.write(NO_NETWORK)
    shutil.copytree(os.path.join(ROOT, "boards"), os.path.join(out, "boards"))
    for kind, src in APPS.items():
        _compile(src, os.path.join(out, "app", kind, "app.mpy"))
        _compile(os.path.join(TOOLS, "heap32_mp.py"), os.path.join(out, "app", kind, "heap32.mpy"))


def on_unix(out, kind, board):
    """``heap32.measure(kind, board)`` on the unix port, from the staged files: that port
    frees what build() unloads and compiles (the webassembly port keeps it: the
    ``wasm_*_kept_bytes`` figures), so the two together bound a board's figure."""
    env = dict(os.environ, MICROPYPATH="%s:%s:.frozen" % (os.path.join(out, "app", kind), os.path.join(out, "lib")),
               RILL_ROOT=out)
    proc = subprocess.run([need_micropython(), "-X", "heapsize=4M", "-c",
                           "import asyncio, heap32\nprint(asyncio.run(heap32.measure(%r, %r)))" % (kind, board)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    if proc.returncode != 0 or not proc.stdout.strip().isdigit():
        raise BenchError("%s on %s (unix port): %s" % (kind, board, (proc.stderr or proc.stdout).strip()[-600:]))
    return int(proc.stdout.strip())


def boards():
    found = {}
    for b in sorted(os.listdir(os.path.join(ROOT, "boards"))):
        path = os.path.join(ROOT, "boards", b, "board.json")
        if os.path.exists(path):
            with open(path) as f:
                found[b] = json.load(f)
    return found


def main():
    if not (shutil.which("node") and shutil.which("npm")):
        return {"app_peak_heap_32bit": None, "app_peak_heap_32bit_skipped": "node and npm are needed"}
    module = install()
    results = {}
    unix = {}  # the same measurement, the same .mpy files, on the 64-bit unix port: a second instrument
    with tempfile.TemporaryDirectory() as out:
        stage(out)
        driver = os.path.join(out, "driver.mjs")
        with open(driver, "w") as f:
            f.write(DRIVER % module)
        for board, info in boards().items():
            for kind in APPS:
                if kind == "example" and info.get("network") != "wifi":
                    continue  # the example app publishes over MQTT: build() refuses it there
                proc = subprocess.run(["node", driver, out, kind, board], capture_output=True, text=True, timeout=120)
                peak = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("peak ")]
                if proc.returncode != 0 or not peak:
                    raise BenchError("%s on %s: %s" % (kind, board, (proc.stderr or proc.stdout).strip()[-600:]))
                results.setdefault(board, {"heap_budget_kb": info.get("heap_budget_kb")})[kind] = int(peak[0])
                unix.setdefault(board, {})[kind] = on_unix(out, kind, board)
        for what in ("exec", "unload"):  # what the port itself keeps, where a board would not
            proc = subprocess.run(["node", driver, out, "scaffold", what], capture_output=True, text=True, timeout=120)
            kept = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("peak ")]
            if proc.returncode != 0 or not kept:
                raise BenchError("%s kept: %s" % (what, (proc.stderr or proc.stdout).strip()[-600:]))
            results["wasm_%s_kept_bytes" % what] = int(kept[0])
    return {"app_peak_heap_32bit": {b: v for b, v in results.items() if isinstance(v, dict)},
            "app_peak_heap_unix64": unix,
            "wasm_exec_kept_bytes": results["wasm_exec_kept_bytes"],
            "wasm_unload_kept_bytes": results["wasm_unload_kept_bytes"]}


if __name__ == "__main__":
    if sys.argv[1:]:
        sys.stderr.write("bench_heap32: error: it takes no arguments (got %s)\n" % " ".join(sys.argv[1:]))
        sys.exit(2)
    try:
        print(json.dumps(main(), sort_keys=True))
    except (BenchError, subprocess.TimeoutExpired) as e:
        sys.stderr.write("bench_heap32: error: %s\n" % e)
        sys.exit(1)
