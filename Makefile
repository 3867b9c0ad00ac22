# content-moderation: the two everyday commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev
# Days the API Gateway access logs are kept (docs/deploy.md): one of 1 3 5 7 14 30 60 90 180 365.
ACCESS_LOG_RETENTION_DAYS ?= 30

.PHONY: run test lint bench deploy destroy clean chromium

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

## run: start the whole system on localhost (REST :8000, WebSocket :8001)
run: $(STAMP)
	$(PY) -m local_runtime

## test: lint, type-check and run every test (the browser tests need Debian's chromium: installed when
## missing); the wall time goes to .make-test-seconds, which make bench reports
test: $(STAMP) chromium
	@date +%s > .make-test-started
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest
	@echo $$(( $$(date +%s) - $$(cat .make-test-started) )) > .make-test-seconds; rm -f .make-test-started

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
	$(PY) -m bench

## deploy: create/update the stateful stack, then `chalice deploy` and the APIs' access logs (needs AWS credentials)
deploy: $(STAMP)
	$(PY) -m deploy deploy --stage $(STAGE) --access-log-retention-days $(ACCESS_LOG_RETENTION_DAYS)

## destroy: delete the app; add DELETE_DATA=yes to delete the tables too
destroy: $(STAMP)
	$(PY) -m deploy destroy --stage $(STAGE) $(if $(filter yes,$(DELETE_DATA)),--delete-data,)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .artifacts
