# Set-up and entry points. `make report` and `make test` install what they need into .venv.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 7007
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The workflow's rules call `python scripts/...`: run them with the virtualenv's Python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: report test lint bench tensorboard clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

## report: run the whole comparison on the default config -> results/report.html
report: $(STAMP)
	snakemake --cores $(CORES) report

## test: the test suite (unit tests, lint, a tiny end-to-end run)
test: $(STAMP)
	python -m pytest

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
