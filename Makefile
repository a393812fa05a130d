# Set-up and entry points. `make report` and `make test` install what they need into .venv.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 7007
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The workflow's rules call `python scripts/...`: run them with the virtualenv's Python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: report test test-fast lint bench tensorboard clean

# The pinned requirements, then the project's own package (actviz) editable, so that scripts,
# workflow, tests and benchmarks import it from this checkout.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	touch $@

## report: run the whole comparison on the default config -> results/report.html
report: $(STAMP)
	snakemake --cores $(CORES) report

## test: the whole test suite: unit tests, lint, tiny end-to-end workflow runs (e2e), SLURM, Chromium, kills (system)
test: $(STAMP)
	python -m pytest

## test-fast: the unit tests only (no workflow runs, no system programs), under a minute
test-fast: $(STAMP)
	python -m pytest -n auto --dist loadfile -m "not e2e and not system"

## lint: snakemake --lint
lint: $(STAMP)
	snakemake --lint

## bench: benchmarks that print their figures (the conversion one needs Debian's dataset-fashion-mnist)
bench: $(STAMP)
	python bench/convert_benchmark.py
	python bench/train_benchmark.py
	python bench/parallel_benchmark.py

## tensorboard: TensorBoard on results/logs at http://127.0.0.1:$(PORT)
tensorboard: $(STAMP)
	tensorboard --logdir results/logs --host 127.0.0.1 --port $(PORT)

## clean: remove results (checkpoints included) and Snakemake's state
clean:
	rm -rf results .snakemake
