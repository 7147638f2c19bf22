"""README "Reproduce a run": its example runs, on both runtimes, in a folder of its own."""
import os
import time

from rill.io import frame

MARK = "<!-- tested: host_tests/lib/test_io_readme.py -->"


def test_reproduce_a_run_example():
    with open("README.md") as f:
        code = f.read().split(MARK, 1)[1].split("```")[1][len("python"):]  # the block after the mark
    home = os.getcwd()
    folder = "/tmp/rill-io-readme-%d" % time.ticks_us()
    os.mkdir(folder)
    os.chdir(folder)
    try:
        with open("temp.jsonl", "w") as f:
            f.write('{"t": 0, "v": 20.0}\n{"t": 400, "v": 21.0}\n{"t": 1200, "v": 22.5}\n{"t": 2500, "v": 23.0}\n')
        scope = {"__name__": "readme"}
        exec(code, scope)
        assert scope["replayed"] == ['[0, "slow", 20.0]', '[1200, "slow", 22.5]', '[2500, "slow", 23.0]']
        assert list(frame.read("run.capture"))[-1] == {"end": 5000} and scope["rec"].records == 4
    finally:
        for name in ("temp.jsonl", "run.capture"):
            try:
                os.remove(name)
            except OSError:
                pass
        os.chdir(home)
        os.rmdir(folder)
