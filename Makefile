# The README names these targets; keep it true when they change.
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup run test test-fast lint typecheck lock bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml scripts/setup.sh scripts/system-deps.sh
	scripts/setup.sh

run: setup
	$(BIN)/podium up

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 -q

bench: setup
	$(BIN)/python bench/kubesim.py

clean:
	rm -rf $(VENV) .podium .pytest_cache .mypy_cache .ruff_cache
