"""Run one frozen test on a qemu MicroPython firmware (frozen as ``_rill_qemu``; rill_host.testing.qemu
sends ``import _rill_qemu; _rill_qemu.run(...)`` over the raw REPL, after a soft reset).

The fixtures are made here as runner.py makes them on the unix port (its ``_fixtures``).
The firmware has no filesystem, so the board files the tests read (the ``board`` fixture,
``board.load``) are served from flash by ``Files`` (``_rill_files``, frozen), mounted at /
where a device keeps them (/boards/<ID>/board.json).
A test that raises makes the REPL print its traceback: that is the failure report.
"""
import io
import os

import vfs


class Files:
    """A read-only filesystem of a few files held in memory ({path: bytes}), mounted at /."""

    def __init__(self, files):
        self.files = files
        self.cwd = "/"

    def _abs(self, path):
        path = path if path.startswith("/") else self.cwd.rstrip("/") + "/" + path
        return "/" + "/".join(p for p in path.split("/") if p)

    def _is_dir(self, path):
        prefix = path.rstrip("/") + "/"
        return path == "/" or any(f.startswith(prefix) for f in self.files)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        data = self.files.get(self._abs(path))
        if data is None or "w" in mode or "a" in mode or "+" in mode:
            raise OSError(2 if data is None else 30)  # ENOENT / EROFS
        return io.BytesIO(data) if "b" in mode else io.StringIO(data.decode())

    def stat(self, path):
        path = self._abs(path)
        if path in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        if self._is_dir(path):
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)

    def ilistdir(self, path):
        prefix = self._abs(path).rstrip("/") + "/"
        seen = set()
        for f in self.files:
            if f.startswith(prefix):
                name = f[len(prefix):].split("/")[0]
                if name not in seen:
                    seen.add(name)
                    yield (name, 0x8000 if prefix + name in self.files else 0x4000, 0)

    def chdir(self, path):
        self.cwd = self._abs(path)

    def getcwd(self):
        return self.cwd

    def statvfs(self, path):
        return (512, 512, 0, 0, 0, 0, 0, 0, 0, 255)


def run(module, test, spec):
    """Call ``module.test`` with the fixtures of ``spec`` (runner.py's format)."""
    from _rill_files import FILES
    from _rill_runner import _fixtures

    vfs.mount(Files(FILES), "/")
    os.chdir("/")

    args = _fixtures(spec)
    getattr(__import__(module), test)(*args)
    print("\x02result pass")
