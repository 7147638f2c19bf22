# rill: host-side workflow. `make help` lists the targets.

VENV        ?= .venv
PY          := $(VENV)/bin/python
RILL        := $(VENV)/bin/rill
MICROPYTHON ?= $(abspath $(VENV)/bin/micropython)
HOST_PYTHON ?= python3
REQUIREMENTS := requirements-host.txt requirements-host.lock requirements-docs.txt

# The setup stamp is keyed on the contents of the requirements and pyproject.toml (not
# mtimes, which a fresh clone resets), so editing either triggers a reinstall and nothing else does.
REQ_HASH   := $(shell $(HOST_PYTHON) -c "import hashlib,sys;print(hashlib.sha256(b''.join(open(f,'rb').read() for f in sys.argv[1:])).hexdigest()[:16])" $(REQUIREMENTS) pyproject.toml 2>/dev/null)
VENV_STAMP := $(VENV)/.stamp-setup-$(REQ_HASH)

PYTEST_ARGS ?=
TEST_JOBS   ?= 3
ARGS        ?=
MPY_FLAGS   ?=

export MICROPYTHON

.DEFAULT_GOAL := help
.PHONY: help setup venv deps lint docs test test-mcu bench run build vboard deploy flash monitor clean distclean

help: ## list the targets
	@echo "make targets:"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 14
	@echo "variables: PYTEST_ARGS, TEST_JOBS (test), ARGS (bench, run), MPY_FLAGS (build), HOST_PYTHON (venv)"

setup: venv deps ## create .venv with the pinned host tools and the rill command, fetch pinned MicroPython libs into .deps/

venv: $(VENV_STAMP) ## create .venv, install requirements-host.lock and requirements-docs.txt (hash-pinned) and this checkout (editable: rill, its pytest plugin)

$(VENV_STAMP):
	@test -n "$(REQ_HASH)" || { echo "make: cannot read $(REQUIREMENTS) with $(HOST_PYTHON)" >&2; exit 1; }
	@$(PY) -c "" 2>/dev/null || { echo "creating $(VENV)"; rm -rf $(VENV) && $(HOST_PYTHON) -m venv $(VENV); }
	@rm -f $(VENV)/.stamp-setup-*
	@echo "installing $(REQUIREMENTS) into $(VENV)"
	$(PY) -m pip install -qq --require-hashes -r requirements-host.lock
	$(PY) -m pip install -qq --require-hashes -r requirements-docs.txt
	$(PY) -m pip install -qq -e .
	@touch $@

deps: $(VENV_STAMP) ## fetch the libraries pinned in tools/rill_host/build/deps.lock (no network when present)
	@$(PY) -m rill_host.build.deps

lint: $(VENV_STAMP) ## ruff over lib, tools and host_tests (config in pyproject.toml)
	$(VENV)/bin/ruff check lib tools host_tests

docs: $(VENV_STAMP) ## build the documentation site (mkdocs.yml, docs/) into build/site with --strict: a warning fails
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site

# The lib suite (its files spread over TEST_JOBS workers) and the tools suite run side by side:
# most of their time is spent waiting on MicroPython, qemu, brokers and virtual boards. The tools suite
# is not an xdist run: its tests that run `rill test` on this checkout would inherit a worker id and
# compile into the lib workers' build/test-mpy-gwN.
test: setup lint docs ## run the host tests on CPython, the MicroPython unix port (64- and 32-bit) and, a subset, an emulated Cortex-M3/M0 (rill test)
	@mkdir -p build
	@echo "rill test host_tests/lib -n $(TEST_JOBS) and rill test host_tests/tools, side by side (logs: build/test-*.log)"
	@RILL_QEMU=$${RILL_QEMU:-subset} $(RILL) test host_tests/lib -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS) \
		>build/test-lib.log 2>&1 & lib=$$!; \
	$(RILL) test host_tests/tools $(PYTEST_ARGS) >build/test-tools.log 2>&1; tools=$$?; \
	wait $$lib; lib=$$?; cat build/test-lib.log build/test-tools.log; \
	test $$lib = 0 && test $$tools = 0

test-mcu: setup ## run every lib test on the emulated Cortex-M3 (qemu; the M0 runs the dispatch and buffer tests)
	RILL_QEMU=all $(RILL) test host_tests/lib -k qemu $(PYTEST_ARGS)

bench: setup ## run the benchmarks (rill bench)
	$(RILL) bench $(ARGS)

run: setup ## run an example on the host (rill run)
	$(RILL) run $(ARGS)

build: $(VENV_STAMP) ## compile lib/rill to .mpy into build/mpy/ (MPY_FLAGS="--board RPI_PICO" for a board)
	$(RILL) build $(MPY_FLAGS)

vboard: setup ## run a virtual board, ARGS e.g. "--board ESP32_GENERIC --clean"
	$(RILL) vboard $(ARGS)

deploy: setup ## deploy an app (default: firmware/) onto a board, ARGS="--port /dev/ttyACM0 --board RPI_PICO_W [--app DIR]"
	$(RILL) deploy $(ARGS)

flash: setup ## flash MicroPython, ARGS="--board ESP32_GENERIC --port /dev/ttyUSB0 [--dry-run]"
	$(RILL) flash $(ARGS)

monitor: setup ## stream a board's console, ARGS="--port vboard"
	$(RILL) monitor $(ARGS)

clean: ## remove build output and caches
	rm -rf build .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also remove .venv, .deps and the virtual boards
	rm -rf $(VENV) .deps .vboard
