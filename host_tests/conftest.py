"""The repository's tests use the rill pytest plugin (tools/rill_host/testing/plugin.py,
installed by `make setup`) like any project: host_tests/lib runs on CPython and on the
MicroPython unix port; host_tests/tools (ini rill_cpython_only) on CPython only."""
