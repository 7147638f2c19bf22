"""README "Reproduce a run": its example runs, on both runtimes, in a folder of its own."""
import os
import time

from rill.io import frame

MARK = "<!-- tested: host_tests/lib/test_io_readme.py -->"


def test_reproduce_a_run_example():
    lines, state = [], 0  # 0: before the mark, 1: before the block, 2: in it
    with open("README.md") as f:  # line by line: the whole README is a large block on a small heap
        for line in f:
            if state == 2:
                if line.startswith("```"):
                    break
                lines.append(line)
            elif line.startswith("```python" if state else MARK):
                state += 1
    code = "".join(lines)
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
        for name in ["temp.jsonl"] + frame.paths("run.capture"):
            os.remove(name)
        os.chdir(home)
        os.rmdir(folder)
