"""Run one test function on the MicroPython unix port (started by host_tests/conftest.py).

usage: micropython mp_runner.py TEST_FILE TEST_NAME [FIXTURES_JSON]

FIXTURES_JSON is a list of [name, attributes] pairs, in the test's parameter order.
Each fixture arrives as a proxy: its attributes are the snapshot sent by the host, and
any other attribute is a method call forwarded to the host's real fixture object over
stdout/stdin, one JSON line each way. The last line printed is a result marker.
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


def main():
    path, test = sys.argv[1], sys.argv[2]
    fixtures = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    folder, filename = path.rsplit("/", 1)
    sys.path.insert(0, folder)
    try:
        module = __import__(filename[:-3])
        getattr(module, test)(*[Remote(name, attrs) for name, attrs in fixtures])
    except BaseException as e:  # report everything, including MemoryError and SystemExit
        sys.print_exception(e)
        sys.stdout.write(MARK + "result fail\n")
        sys.exit(1)
    sys.stdout.write(MARK + "result pass\n")


main()
