# Osservatorio — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run migrate demo test lint fmt bench browser clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Osservatorio needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pybabel compile --statistics -d observatory/locale -D messages
	@touch $(INSTALLED)

install: $(INSTALLED) ## Create .venv and install Osservatorio with its test tools

migrate: $(INSTALLED) ## Create or update the database tables
	$(BIN)/observatory migrate

demo: $(INSTALLED) ## Load territories and the demo catalogue (only into an empty catalogue)
	$(BIN)/observatory demo

run: demo ## Set up everything on first run, then serve on http://$(HOST):$(PORT)
	$(BIN)/observatory serve --host $(HOST) --port $(PORT)

lint: $(INSTALLED) ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(INSTALLED) ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint ## Run the whole test suite on two cores (PostgreSQL runs too when it answers)
	$(BIN)/pytest -n 2

bench: $(INSTALLED) ## Run the benchmarks in bench/ (they print figures; they are not tests)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

browser: ## Install Debian's Chromium for the browser and accessibility tests (apt-get: needs root)
	@if [ -x /usr/bin/chromium ]; then echo "/usr/bin/chromium is already installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

clean: ## Remove the virtual environment and local data (var/)
	rm -rf $(VENV) var .pytest_cache .ruff_cache
