# The two set-up commands: `make run` serves the hotline, `make test` runs the tests.
VENV ?= .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

.PHONY: run test install
install: $(STAMP)

PORT ?= 5000

run: $(STAMP)
	$(VENV)/bin/hotline serve --port $(PORT)

test: $(STAMP)
	bash scripts/test-env
	$(VENV)/bin/pytest
