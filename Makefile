# The README names these targets; keep it true when they change.
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
UP_ARGS ?=

.PHONY: setup run test test-fast lint typecheck lock bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml scripts/setup.sh scripts/system-deps.sh
	scripts/setup.sh

# Missing system packages are checked on every setup, not only when .venv is rebuilt: a machine can
# lose them while keeping the checkout.
setup: system-deps
.PHONY: system-deps
system-deps:
	scripts/system-deps.sh

# The whole system on this machine (podium up --help for options, e.g. UP_ARGS="--port 8080 --speed 10").
run: setup
	$(BIN)/podium up $(UP_ARGS)

# The whole suite; scripts/test.sh turns "no tests collected" into a failure.
test: setup
	scripts/test.sh $(PYTEST_ARGS)

# lint-imports checks the import-linter contracts in pyproject.toml (which way imports may run).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 -q

# Each benchmark prints its figures; run one alone with e.g. `.venv/bin/python bench/commands.py --help`.
bench: setup
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

clean:
	rm -rf $(VENV) .podium .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
