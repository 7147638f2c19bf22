"""The README's pipeline in 20 lines is code users will paste: test_examples.py runs it on
every runtime through ``pipeline_in_20_lines``, which checks what it produces and its length."""


def pipeline_in_20_lines(run, code):
    lines = [line for line in code.strip().split("\n") if line.strip()]
    assert len(lines) <= 20, len(lines)
    scope = run()
    assert [round(a, 2) for a in scope["alarms"]] == [30.67, 36.0, 31.67]
    assert "transform <lambda>: smooth -> alarm (depth 2)" in scope["g"].describe()
