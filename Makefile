# Entry points, each creating its own virtual environment:
#   make report   -> the main job: the whole verified lecture into ./gradproof-report/
#   make test     -> the whole test suite
#   make lint     -> ruff: lint and format check (CI runs it before the tests)
#   make bench    -> the benchmark suite (peers from the [bench] extra) into docs/benchmarks.md
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: report test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-report: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[digits]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,digits]'
	touch $@

report: $(VENV)/.installed-report
	$(BIN)/gradproof report

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

# $(BIN)/pytest, not `python -m pytest`: the repository root stays off sys.path,
# so the tests import the installed gradproof the way users do.
test: $(VENV)/.installed-test
	$(BIN)/pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) gradproof-report
