"""docs/benchmarks.md is rewritten by make bench (rill_host.bench.page) from the run's results:
the text above its mark stays as written, and every figure of the results appears below it,
the heap each app needs per board as its own table."""
from rill_host.bench import page as bench_page

RESULTS = {"hop_rate": 1394311, "ratio_vs_tasks_batched": 1.11, "runs_in_32k_heap": True, "mqtt_skipped": None,
           "app_min_heap_kb_32bit": {"ESP32_GENERIC": {"example": 88, "heap_budget_kb": 110, "scaffold": 59}},
           "app_min_heap_kb_frozen": {"RPI_PICO": {"heap_budget_kb": 190, "scaffold": 23}},
           "module_import_bytes_32bit": {"rill.board": 3408, "rill.status": 2448}}


def test_the_page_keeps_its_text_and_shows_every_figure(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nWhat each figure means.\n\n" + bench_page.MARK + "\n\nold figures\n")
    bench_page.write(RESULTS, str(page))
    text = page.read_text()
    bench_page.write(RESULTS, str(page))
    assert page.read_text() == text  # a second run: the same page
    assert text.startswith("# Benchmarks\n\nWhat each figure means.\n\n" + bench_page.MARK)
    assert "old figures" not in text
    assert "| ESP32_GENERIC | 110 KB | 88 KB | 59 KB | not measured | not measured |" in text, text
    assert "| RPI_PICO | 190 KB | not measured | not measured | not measured | 23 KB |" in text, text
    assert "| `hop_rate` | 1,394,311 |" in text and "| `ratio_vs_tasks_batched` | 1.11 |" in text
    assert "| `runs_in_32k_heap` | yes |" in text and "| `rill.status` | 2,448 |" in text


def test_a_page_without_the_mark_is_refused(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n")
    try:
        bench_page.write(RESULTS, str(page))
    except ValueError as e:
        assert "has no line" in str(e)
    else:
        raise AssertionError("no error")
    assert page.read_text() == "# Benchmarks\n"


def test_the_sites_page_has_the_mark():
    with open(bench_page.PAGE) as f:
        assert bench_page.MARK in f.read()
