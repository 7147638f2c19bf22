"""The README's example is code users will paste: run it, on both runtimes."""
MARK = "<!-- tested: host_tests/lib/test_readme.py -->"


def example():
    with open("README.md") as f:
        text = f.read()
    start = text.index("```python", text.index(MARK)) + len("```python")
    return text[start:text.index("```", start)]


def test_readme_example_runs_and_is_short():
    code = example()
    lines = [line for line in code.strip().split("\n") if line.strip()]
    assert len(lines) <= 20, len(lines)
    scope = {"__name__": "readme"}
    exec(code, scope)
    assert [round(a, 2) for a in scope["alarms"]] == [30.67, 36.0, 31.67]
    text = scope["g"].describe()
    assert "transform <lambda>: smooth -> alarm (depth 2)" in text
