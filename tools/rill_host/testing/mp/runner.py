"""Run one test function on the MicroPython unix port (started by rill_host.testing.harness).

usage: micropython -m _rill_runner TEST_FILE TEST_NAME [FIXTURES_JSON]   (compiled to .mpy)

FIXTURES_JSON lists the test's parameters in order, each ``[name, kind, data]``:
- kind "clock": a fresh ``rill.clock.VirtualClock`` made here;
- kind "board": ``rill.board.load(data, clock=...)``, a simulated board (id ``data``)
  that keeps the test's clock (a clock of its own when the test takes none);
- kind "replay": ``testkit.replay_on(clock)``, the ``replay`` fixture, on that clock too;
- kind "rpc": a proxy whose attributes are ``data``, the snapshot sent by the host, and
  any other attribute is a method call forwarded to the host's real fixture object
  over stdout/stdin, one JSON line each way.
The last line printed is a result marker.
"""
import json
import sys

MARK = "\x02"


def _call_host(fixture, method, args):
    sys.stdout.write(MARK + "rpc " + json.dumps([fixture, method, args]) + "\n")
    reply = json.loads(sys.stdin.readline())
    if "err" in reply:
        raise RuntimeError("host fixture %s.%s: %s" % (fixture, method, reply["err"]))
    return reply["ok"]


class Remote:
    def __init__(self, name, attrs):
        self._name = name
        self._attrs = attrs

    def __getattr__(self, attr):
        if attr in self._attrs:
            return self._attrs[attr]
        name = self._name

        def call(*args):
            return _call_host(name, attr, list(args))

        return call


def _fixtures(spec):
    made = {}
    clock = None
    for name, kind, _ in spec:
        if kind == "clock":
            from rill.clock import VirtualClock

            clock = made[name] = VirtualClock()
    args = []
    for name, kind, data in spec:
        if kind in ("board", "replay") and clock is None:
            from rill.clock import VirtualClock

            clock = VirtualClock()
        if kind == "board":
            from rill import board

            made[name] = board.load(data, clock=clock)
        elif kind == "replay":
            from testkit import replay_on

            made[name] = replay_on(clock)
        elif kind == "rpc":
            made[name] = Remote(name, data)
        args.append(made[name])
    return args


def main():
    path, test = sys.argv[1], sys.argv[2]
    spec = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    folder, filename = path.rsplit("/", 1)
    sys.path.insert(0, folder)
    try:
        module = __import__(filename[:-3])
        getattr(module, test)(*_fixtures(spec))
    except BaseException as e:  # report everything, including MemoryError and SystemExit
        sys.print_exception(e)
        sys.stdout.write(MARK + "result fail\n")
        sys.exit(1)
    sys.stdout.write(MARK + "result pass\n")


if __name__ == "__main__":  # run by -m; the qemu runner (mp/qemu_side.py) imports _fixtures
    main()
