"""The documentation's examples: every ```python block in README.md and docs/*.md, and the
marker that may stand right before one (read on CPython and MicroPython alike, line by
line: the pages are large strings on a small heap). One home for finding them:
test_examples.py runs them all, and a test that needs a block's text asks here.

Markers, an HTML comment on the line before the fence (words separated by commas):
- ``<!-- example: skip, REASON -->``: not run; REASON says why (a board, a network...);
- ``<!-- example: host -->``: host code, run on CPython only;
- ``<!-- example: check MODULE.FUNCTION -->``: ``FUNCTION(run, code)`` in host_tests/lib/MODULE.py
  runs it: ``run(files=None)`` writes ``files`` ({name: text}) into the block's folder,
  executes the block there and returns its globals, for the function's asserts.
Every block runs in a fresh empty folder of its own, on every runtime unless marked.
"""
import os

MARK = "<!-- example:"
ROOT = os.getcwd()  # the checkout (the tests start there); each example runs in a folder of its own
KNOWN = ("skip", "host", "check")


def files(root="."):
    """README.md and the docs pages, as paths relative to ``root``."""
    docs = sorted(n for n in os.listdir(root + "/docs") if n.endswith(".md"))
    return ["README.md"] + ["docs/" + n for n in docs]


def parse(marker):
    """{"skip": reason} / {"host": True, "check": "m.f"} from a marker's text; ValueError if unknown."""
    marker = marker.strip()
    if not marker:
        return {}
    if marker.startswith("skip"):
        reason = marker[4:].lstrip(" ,").strip()
        if not reason:
            raise ValueError("'skip' needs a reason: <!-- example: skip, REASON -->")
        return {"skip": reason}
    out = {}
    for word in marker.split(","):
        word = word.strip()
        if word == "host":
            out["host"] = True
        elif word.startswith("check ") and "." in word:
            out["check"] = word[6:].strip()
        else:
            raise ValueError("unknown example marker %r (known: %s)" % (word, ", ".join(KNOWN)))
    return out


def blocks(path):
    """[(line, marker text)] for each python block of ``path``: ``line`` is its fence's line (1-based)."""
    found, marker, n = [], "", 0
    with open(path) as f:
        fence = False
        for line in f:
            n += 1
            if fence:
                fence = not line.startswith("```")
                continue
            if line.startswith("```"):
                if line.strip() == "```python":
                    found.append((n, marker))
                fence = True
            if line.startswith(MARK):
                marker = line[len(MARK):line.index("-->")]
            elif line.strip():
                marker = ""
    return found


def source(path, line):
    """The code of the block whose fence is on ``line`` of ``path``."""
    lines, n = [], 0
    with open(path) as f:
        for text in f:
            n += 1
            if n > line:
                if text.startswith("```"):
                    break
                lines.append(text)
    return "".join(lines)


def find(path, words):
    """The fence line of the first python block of ``path`` whose marker contains ``words``."""
    for line, marker in blocks(path):
        if words in marker:
            return line
    raise ValueError("no python block marked %r in %s" % (words, path))
