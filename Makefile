# Set-up and entry points. `make report` and `make test` install what they need into .venv.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 7007
CORES ?= all
# Extra Snakemake arguments for `make report`, e.g. REPORT_ARGS="--configfile configs/deep.yaml".
REPORT_ARGS ?=
# Held while `make report` runs: a second one in this folder stops instead of racing it (after
# REPORT_LOCK_WAIT seconds: time enough for the processes of a killed one to go).
REPORT_LOCK := results/.make-report.lock
REPORT_LOCK_WAIT ?= 10
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The workflow's rules call `python scripts/...`: run them with the virtualenv's Python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: report test test-fast lint bench tensorboard rerun clean

# The pinned requirements, then the project's own package (actviz) editable, so that scripts,
# workflow, tests and benchmarks import it from this checkout.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	touch $@

## report: run the whole comparison on the default config -> results/report.html
# Run again after a kill (a time limit, the OOM killer, a power cut), it simply continues: holding its
# own lock, it knows no other `make report` uses the folder, so Snakemake's lock left by the killed
# session is stale and is cleared; training resumes from its checkpoints.
report: $(STAMP)
	@mkdir -p results
	@flock --timeout $(REPORT_LOCK_WAIT) --conflict-exit-code 75 $(REPORT_LOCK) sh -c \
	    'snakemake --unlock $(REPORT_ARGS) > /dev/null 2>&1; snakemake --cores $(CORES) report $(REPORT_ARGS)' \
	    || { status=$$?; [ $$status -ne 75 ] || echo "make report: another make report is running in this" \
	        "folder ($(REPORT_LOCK)); wait for it to finish" >&2; exit $$status; }

## test: the whole test suite: the fast and slow tiers on every core, then one at a time the tiny workflow runs (e2e)
## and the tests of SLURM, Chromium, Debian's Fashion-MNIST and kills (system), which start processes of their own
test: $(STAMP)
	python -m pytest -n auto --dist loadfile -m "not e2e and not system"
	python -m pytest -m "e2e or system"

## test-fast: the unit tests only (no workflow runs, system programs or slow tier), under a minute
test-fast: $(STAMP)
	python -m pytest -n auto --dist loadfile -m "not e2e and not system and not slow"

## lint: snakemake --lint
lint: $(STAMP)
	snakemake --lint

## bench: benchmarks that print their figures (the conversion one needs Debian's dataset-fashion-mnist)
bench: $(STAMP)
	python bench/convert_benchmark.py
	python bench/train_benchmark.py
	python bench/parallel_benchmark.py
	python bench/report_benchmark.py

## tensorboard: TensorBoard on results/logs at http://127.0.0.1:$(PORT)
tensorboard: $(STAMP)
	tensorboard --logdir results/logs --host 127.0.0.1 --port $(PORT)

## rerun: retrain one run from its record and say whether it is bit-identical, e.g. RUN=results/runs/FashionMNIST-sample/cnn/snn/relu/seed0
rerun: $(STAMP)
	@[ -n "$(RUN)" ] || { echo "make rerun: name the run's folder: make rerun RUN=results/runs/DATASET/ARCH/RECIPE/ACTIVATION/seedN" >&2; exit 2; }
	python scripts/rerun.py $(RUN)

## clean: remove results (checkpoints included) and Snakemake's state
clean:
	rm -rf results .snakemake
