# The two commands of the README: `make run` and `make test`. Both set up first (idempotent).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup browser run test lint format bench soak fuzz adversarial shaders book-data clean

setup:
	@bash scripts/setup.sh

browser:  # also Debian's chromium and chromium-driver, and Selenium, for tests/test_browser.py
	@bash scripts/setup.sh --browser

run: setup  # the files of keys F12 and M go into build/out, not the checkout's top
	@mkdir -p build/out
	$(PY) -m game --out-dir build/out $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(PY) -m pytest -q $(ARGS)

book-data: setup  # the book's Sponza and cube, downloaded and checked (game/book_data.py)
	$(PY) -m game.book_data

bench: setup
	$(PY) -m game.bench --out-dir build

soak: setup
	$(PY) scripts/soak.py $(ARGS)

fuzz: setup  # long runs of the loader's mutator, the readers' Hypothesis tests (FUZZ, SEED) and every adversarial case
	ZVK_FUZZ_MUTATIONS=$${FUZZ:-5000} ZVK_FUZZ_SEED=$${SEED:-$$(date +%s)} \
		ZVK_HYPOTHESIS_EXAMPLES=$${FUZZ:-2000} \
		$(PY) -m pytest -q tests/test_fuzz_models.py tests/test_readers_hypothesis.py
	$(PY) scripts/adversarial.py

adversarial: setup  # every case of scripts/adversarial.py (make test runs a sample)
	$(PY) scripts/adversarial.py $(ARGS)

shaders: setup  # recompile the committed SPIR-V after editing shaders/*.glsl
	$(PY) -m eng.extras.shader_watch

clean:
	rm -rf build $(VENV)
