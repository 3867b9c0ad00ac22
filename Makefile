# content-moderation: the two everyday commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The project's console script (pyproject.toml's [project.scripts]), installed by the $(STAMP) step.
CLI := $(VENV)/bin/content-moderation
STAGE ?= dev
# pytest's parallel workers (pytest-xdist; a module's tests stay on one worker, sharing its runtime):
# 2 was the fastest of 2, 3, 4 and auto on the 2-core machine (see BENCHMARKS.md).
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
# Bytecode is written once and kept in .venv/pycache, never beside the sources (chalice would zip
# chalicelib/__pycache__ into the Lambda bundle). A shell with PYTHONDONTWRITEBYTECODE=1 (this machine's)
# made every process (each test worker, each local runtime) compile moto, botocore and the rest from
# source again: about 5 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
# Days the API Gateway access logs are kept (docs/deploy.md): one of 1 3 5 7 14 30 60 90 180 365.
ACCESS_LOG_RETENTION_DAYS ?= 30

.PHONY: run test test-faithful lint bench deploy destroy clean chromium

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The pinned dependencies, then the project itself, editable and without resolving dependencies again
# (pyproject.toml pins the same ones). No build isolation, so nothing more is downloaded: setuptools and
# wheel are there by then (Python 3.11's venv has setuptools; chalice requires wheel). --no-compile: Python
# compiles what is imported when it is first imported (into PYTHONPYCACHEPREFIX), not all of moto[all] up front.
$(STAMP): $(PY) requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-compile --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## run: start the whole system on localhost (REST :8000, WebSocket :8001)
run: $(STAMP)
	$(CLI) run

## test: lint, type-check and run every test on $(PYTEST_WORKERS) workers (the browser tests need Debian's
## chromium: installed when missing); the wall time goes to .make-test-seconds, which make bench reports
test: $(STAMP) chromium
	@date +%s > .make-test-started
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_PARALLEL)
	@echo $$(( $$(date +%s) - $$(cat .make-test-started) )) > .make-test-seconds; rm -f .make-test-started

## test-faithful: the whole suite with moto's speed patches off (LOCAL_RUNTIME_SPEED_PATCHES=off): they must
## change nothing but speed; the tests of the speed patches themselves (marked speed_patches) are left out.
## Each local runtime is a new `python -m local_runtime` process, not a fork (tests/local_runtime/forked_runtime.py).
test-faithful: $(STAMP) chromium
	LOCAL_RUNTIME_SPEED_PATCHES=off LOCAL_RUNTIME_TEST_START=subprocess $(PY) -m pytest $(PYTEST_PARALLEL) -m "not speed_patches"

# Debian's own Chromium for tests/browser (Playwright never downloads a browser here); quick when present.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

## lint: ruff and mypy (strict on app.py and chalicelib/, configured in pyproject.toml)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## bench: run the benchmarks and write BENCHMARKS.md
bench: $(STAMP)
	$(CLI) bench

## deploy: create/update the stateful stack, then `chalice deploy` and the APIs' access logs (needs AWS credentials)
deploy: $(STAMP)
	$(CLI) deploy --stage $(STAGE) --access-log-retention-days $(ACCESS_LOG_RETENTION_DAYS)

## destroy: delete the app; add DELETE_DATA=yes to delete the tables too
destroy: $(STAMP)
	$(CLI) destroy --stage $(STAGE) $(if $(filter yes,$(DELETE_DATA)),--delete-data,)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .artifacts
