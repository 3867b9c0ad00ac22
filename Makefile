# content-moderation: the two everyday commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: run test lint bench deploy destroy clean

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

## test: lint and run every test (the wall time goes to .make-test-seconds, which make bench reports)
test: $(STAMP)
	@date +%s > .make-test-started
	$(PY) -m ruff check .
	$(PY) -m pytest
	@echo $$(( $$(date +%s) - $$(cat .make-test-started) )) > .make-test-seconds; rm -f .make-test-started

lint: $(STAMP)
	$(PY) -m ruff check .

## bench: run the benchmarks and write BENCHMARKS.md
bench: $(STAMP)
	$(PY) -m bench

## deploy: create/update the stateful stack, then `chalice deploy` (needs AWS credentials)
deploy: $(STAMP)
	$(PY) -m deploy deploy --stage $(STAGE)

## destroy: delete the app; add DELETE_DATA=yes to delete the tables too
destroy: $(STAMP)
	$(PY) -m deploy destroy --stage $(STAGE) $(if $(filter yes,$(DELETE_DATA)),--delete-data,)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
