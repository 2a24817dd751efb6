# The two commands of the README: `make run` and `make test`. Both set up first (idempotent).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint format bench soak fuzz adversarial shaders clean

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

fuzz: setup  # long runs of the loader's mutator and the readers' Hypothesis tests (FUZZ, SEED)
	ZVK_FUZZ_MUTATIONS=$${FUZZ:-5000} ZVK_FUZZ_SEED=$${SEED:-$$(date +%s)} \
		ZVK_HYPOTHESIS_EXAMPLES=$${FUZZ:-2000} \
		$(PY) -m pytest -q tests/test_fuzz_models.py tests/test_readers_hypothesis.py

adversarial: setup  # every case of scripts/adversarial.py (make test runs a sample)
	$(PY) scripts/adversarial.py $(ARGS)

shaders:  # recompile the committed SPIR-V after editing shaders/*.glsl
	glslc -fshader-stage=vert shaders/scn_vtx.glsl -o shaders/scn_vtx.spv
	glslc -fshader-stage=frag shaders/scn_frg.glsl -o shaders/scn_frg.spv

clean:
	rm -rf build $(VENV)
