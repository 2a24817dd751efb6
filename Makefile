# The two commands of the README: `make run` and `make test`. Both set up first (idempotent).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint format bench soak clean

setup:
	@bash scripts/setup.sh

run: setup
	$(PY) -m game $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(PY) -m pytest -q $(ARGS)

bench: setup
	$(PY) -m game.bench

soak: setup
	$(PY) scripts/soak.py $(ARGS)

clean:
	rm -rf build $(VENV)
