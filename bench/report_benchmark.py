#!/usr/bin/env python3
"""How the report scales with the number of runs, and how long the workflow's DAG takes to build.

Trains and extracts one small real run (28x28x1 CNN, snn recipe, ReLU, 20 steps, 500 probe images, a
test split of 2,000 like the default data), then copies its outputs (metrics.json, training_stats.csv,
the extraction's statistics and activations) under the names of every run of a study: datasets x 8
activations x 2 recipes x seeds, each copy with its own identity and its own random test results
(accuracy and per-image correctness), so that every table, interval and comparison is computed as for
real runs. For each study size it renders the report in a fresh process (scripts/report.py, as the
workflow runs it) and prints the render time, the peak memory (VmHWM), the HTML size and their growth
per run; then the seconds ``snakemake -n`` takes to build the DAG of the largest study.

    python bench/report_benchmark.py [--runs 48 320] [--keep DIR]

Limits it checks (exit 1 when one is broken): 320 runs render in under 120 s, the HTML is under 25 MB,
time and memory grow at most linearly (per-run figures of the largest study within 1.5x of the
smallest's), the DAG builds in under 10 s.
"""

import argparse
import csv
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from parallel_benchmark import copy_project, snakemake
from train_benchmark import synthetic_dataset

from actviz.errors import UserError, run_cli

REPO = Path(__file__).resolve().parent.parent
ACTIVATIONS = ("relu", "lrelu", "selu", "elu", "gelu", "swish", "tanh", "sigmoid")
RECIPES = ("snn", "seed")
# Runs of a study -> (datasets, seeds); activations and recipes are always all of them.
STUDIES = {16: (1, 1), 48: (1, 3), 96: (2, 3), 160: (2, 5), 320: (4, 5)}
BUILTIN = ("MNIST", "FashionMNIST", "CIFAR10", "SVHN")  # the DAG benchmark's datasets (no files needed)
LIMITS = {"render_seconds": 120, "html_mb": 25, "growth": 1.5, "dag_seconds": 10}


def template_run(workdir, architecture="cnn", probe_images=500):
    """One real run's files: (dataset h5, run folder with metrics.json, training_stats.csv, stats.json,
    act.h5). ``probe_images`` the extraction's (the test split has 2,000, as the default data)."""
    from actviz.extraction import extract
    from actviz.settings import ExtractSettings, TrainSettings
    from actviz.training import train

    h5 = workdir / "template.h5"
    if not h5.exists():
        synthetic_dataset(h5, (28, 28, 1), np.random.default_rng(0), train=256, test=2000)
    run = workdir / f"template-{architecture}"
    settings = TrainSettings(steps=20, batch_size=32, log_every=5, eval_every=10, stats_every=10, histogram_every=10,
                             image_every=20, checkpoint_every=20, probe_size=16, architecture=architecture)
    train(h5, "relu", settings, run / "ckpt", run / "logs", run / "metrics.json", run / "training_stats.csv",
          run / "training_histograms.csv", threads=2, progress=False, log=lambda *_: None)
    extract(h5, run / "ckpt", run / "act.h5", run / "stats.json", run / "stats.csv",
            ExtractSettings(probe_images=probe_images), progress=False)
    return h5, run


# How a copied run ended (``copy_run``), as the trainer and extraction leave such a run's files.
OUTCOMES = ("finished", "diverged", "diverged at step 0", "non-finite activations")


def write_dataset(path, name, labels):
    """The report's view of a dataset: its name, classes and test labels (no training images)."""
    from actviz.formats import write_dataset_h5

    path.parent.mkdir(parents=True, exist_ok=True)
    write_dataset_h5(path, {"train": (np.zeros((1, 28, 28, 1), np.uint8), labels[:1]),
                            "test": (np.zeros((len(labels), 28, 28, 1), np.uint8), labels)},
                     {"name": name, "classes": [str(c) for c in range(10)], "num_classes": 10,
                      "description": "synthetic: copies of one real run", "homepage": "", "license": "",
                      "checksums": {}})
    return path


def copy_run(run, folder, ident, labels, rng, outcome="finished", diverged_at=None):
    """The files of one run named ``ident`` under ``folder``, copied from the real ``run`` with their own
    random test results; returns {kind: path} as the report's inputs name them.

    ``outcome`` (one of ``OUTCOMES``): "finished"; "diverged" at step ``diverged_at`` (no test accuracy,
    the records of the steps before it, the activations of the last checkpoint); "diverged at step 0" (the
    untrained network already gives NaN: every statistic and activation NaN); "non-finite activations"
    (finished, but after the last step some activations are NaN or infinite).
    """
    import h5py

    from actviz.atomic import write_json
    from actviz.evaluation import pack_bits

    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    metrics = json.loads((run / "metrics.json").read_text())
    stats = json.loads((run / "stats.json").read_text())
    with open(run / "training_stats.csv", newline="") as f:
        stats_rows = list(csv.DictReader(f))
    folder.mkdir(parents=True, exist_ok=True)
    skill = 0.5 + 0.4 * rng.random()  # each run its own accuracy, image by image
    correct = rng.random(len(labels)) < skill
    predictions = np.where(correct, labels, (labels + 1) % 10)
    confusion = np.bincount(labels * 10 + predictions, minlength=100).reshape(10, 10)
    evaluation = {**metrics["final_evaluation"], "accuracy": float(correct.mean()), "correct": pack_bits(correct),
                  "confusion": confusion.tolist()}
    evaluations = [{**e, "validation_accuracy": float(correct.mean()) * (i + 1) / len(metrics["evaluations"])}
                   for i, e in enumerate(metrics["evaluations"])]
    mine = {**metrics, **ident, "test_accuracy": float(correct.mean()), "final_evaluation": evaluation,
            "evaluations": evaluations, "run": "/".join(map(str, ident.values()))}
    nan = float("nan")
    if outcome == "diverged at step 0":
        diverged_at = 0
    if outcome.startswith("diverged"):
        before = [r for r in metrics["training"] if r["step"] < diverged_at]
        mine.update(diverged_at_step=diverged_at, test_accuracy=None, test_loss=None, final_evaluation=None,
                    validation_accuracy=None, validation_loss=None,
                    final_step=diverged_at, training=before, train_loss=before[-1]["train_loss"] if before else None,
                    train_accuracy=before[-1]["train_accuracy"] if before else None,
                    evaluations=[e for e in evaluations if e["step"] < diverged_at] or
                    [{**evaluations[0], "validation_loss": nan}])
        stats_rows = [r for r in stats_rows if int(r["step"]) < max(diverged_at, 1)]
    values = {"diverged at step 0": nan, "non-finite activations": float("inf")}.get(outcome)
    if values is not None:  # no finite statistics at the last recorded step, nor in the extracted layers
        last = max(int(r["step"]) for r in stats_rows)
        for row in stats_rows:
            if int(row["step"]) == last:
                row.update({k: "nan" for k in row if k.startswith(("mean", "std", "p", "predicted", "path"))})
        stats = {**stats, "layers": {name: {**layer, "mean": nan, "std": nan, "min": nan, "max": nan}
                                     for name, layer in stats["layers"].items()}}
    write_json(folder / "metrics.json", mine)
    write_json(folder / "stats.json", {**stats, **ident})
    for row in stats_rows:
        row.update({k: str(v) for k, v in ident.items()})
    with open(folder / "training_stats.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(stats_rows[0]))
        writer.writeheader()
        writer.writerows(stats_rows)
    _write_predictions(folder / "predictions.h5", None if outcome.startswith("diverged") else predictions, labels, rng)
    shutil.copyfile(run / "act.h5", folder / "act.h5")
    with h5py.File(folder / "act.h5", "a") as f:
        f.attrs.update(ident)
        if outcome == "diverged at step 0":
            for layer in f["activations"].values():
                layer[...] = nan
        elif outcome == "non-finite activations":  # a layer's first values NaN, the next infinite
            for layer in f["activations"].values():
                flat = layer[...].reshape(-1)
                flat[: flat.size // 10] = nan
                flat[flat.size // 10: flat.size // 5] = np.inf
                layer[...] = flat.reshape(layer.shape)
    return {"metrics": folder / "metrics.json", "training_stats": folder / "training_stats.csv",
            "stats": folder / "stats.json", "activations": folder / "act.h5", "predictions": folder / "predictions.h5"}


def _write_predictions(path, predicted, labels, rng):
    """A copied run's predictions.h5: its predicted classes (None: a diverged run, no image) with random class
    probabilities whose largest is the predicted class."""
    from actviz.evaluation import Evaluation, write_predictions

    if predicted is None:
        write_predictions(path, None, 10)
        return
    probabilities = rng.dirichlet(np.ones(10), len(labels))
    top = probabilities.max(axis=1)
    probabilities[np.arange(len(labels)), predicted] = top + rng.random(len(labels))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    write_predictions(path, Evaluation(0.0, labels, predicted, probabilities.astype(np.float16)), 10)


def synthesise(template, root, datasets, seeds):
    """Every run of the study under ``root``, copied from ``template``; returns the report's options."""
    _, run = template
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 2000)
    files = {"metrics": [], "training_stats": [], "stats": [], "activations": [], "predictions": [], "datasets": []}
    for dataset in datasets:
        files["datasets"].append(write_dataset(root / "data" / f"{dataset}.h5", dataset, labels))
    for dataset, recipe, activation, seed in itertools.product(datasets, RECIPES, ACTIVATIONS, seeds):
        ident = {"dataset": dataset, "architecture": "cnn", "recipe": recipe, "activation": activation, "seed": seed}
        copied = copy_run(run, root / "runs" / dataset / recipe / activation / f"seed{seed}", ident, labels, rng)
        for kind, path in copied.items():
            files[kind].append(path)
    return files


def render(files, root, datasets, seeds):
    """Render the report in a fresh process, as the workflow does; (seconds, peak MB, HTML bytes)."""
    from dataclasses import fields

    from actviz.report.render import ReportInputs, ReportOutputs

    out = root / "report"
    command = [sys.executable, str(REPO / "scripts" / "report.py")]
    for spec in fields(ReportInputs):
        command += [f"--{spec.name.replace('_', '-')}", *map(str, files.get(spec.name, []))]
    for spec in fields(ReportOutputs):
        name = "report.html" if spec.name == "html" else spec.name.replace("_csv", ".csv").replace("_json", ".json")
        command += [f"--{spec.name.replace('_', '-')}", str(out / name)]
    config = {"datasets": list(datasets), "activations": list(ACTIVATIONS), "recipes": list(RECIPES),
              "seeds": list(seeds)}
    command += ["--config-json", json.dumps(config)]
    # GNU time's %M is the peak resident memory of the child: the report process alone.
    timed = ["/usr/bin/time", "-f", "%e %M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    result = subprocess.run(timed + command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise UserError(f"the report failed:\n{result.stderr[-3000:]}")
    peak_mb = int(result.stderr.split()[-1]) / 1024 if timed else float("nan")
    return seconds, peak_mb, (out / "report.html").stat().st_size


def dag_seconds(datasets, seeds):
    """Seconds of ``snakemake -n`` for the study's config (built-in datasets: no files needed)."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        copy_project(project)
        seconds, output = snakemake(project, "-n", "report", "--config", f"datasets=[{','.join(datasets)}]",
                                    f"activations=[{','.join(ACTIVATIONS)}]", f"recipes=[{','.join(RECIPES)}]",
                                    f"seeds=[{','.join(map(str, seeds))}]")
        jobs = next((line for line in output.splitlines() if line.startswith("total")), "total ?")
        return seconds, jobs.split()[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[48, 320], choices=sorted(STUDIES),
                        help="study sizes to render (default: 48 320)")
    parser.add_argument("--keep", type=Path, help="build the studies here and keep them (default: a temporary folder)")
    args = parser.parse_args(argv)

    from actviz.runs import configure_threads

    configure_threads(2)
    workdir = Path(tempfile.mkdtemp(prefix="report-bench-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        template = template_run(workdir)
        print(f"{'runs':>5}{'datasets':>9}{'seeds':>6}{'render s':>10}{'s/run':>7}{'peak MB':>9}{'MB/run':>8}"
              f"{'HTML MB':>9}", flush=True)
        rows = []
        for size in sorted(args.runs):
            datasets_count, seeds_count = STUDIES[size]
            datasets, seeds = [f"data{i}" for i in range(datasets_count)], list(range(seeds_count))
            root = workdir / f"study{size}"
            files = synthesise(template, root, datasets, seeds)
            seconds, peak, html = render(files, root, datasets, seeds)
            rows.append((size, seconds, peak, html))
            print(f"{size:>5}{datasets_count:>9}{seeds_count:>6}{seconds:>10.1f}{seconds / size:>7.2f}{peak:>9.0f}"
                  f"{peak / size:>8.1f}{html / 1e6:>9.1f}", flush=True)
            if args.keep is None:
                shutil.rmtree(root)
        largest = max(args.runs)
        datasets_count, seeds_count = STUDIES[largest]
        dag, jobs = dag_seconds(BUILTIN[:datasets_count], list(range(seeds_count)))
        print(f"\nsnakemake -n for {largest} runs ({jobs} jobs): {dag:.1f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    broken = []
    (size, seconds, peak, html), (small, small_seconds, small_peak, _) = rows[-1], rows[0]
    if size == 320 and seconds > LIMITS["render_seconds"]:
        broken.append(f"320 runs rendered in {seconds:.0f} s (limit {LIMITS['render_seconds']} s)")
    if html > LIMITS["html_mb"] * 1e6:
        broken.append(f"{html / 1e6:.1f} MB of HTML (limit {LIMITS['html_mb']} MB)")
    if size > small and peak / size > LIMITS["growth"] * small_peak / small:
        broken.append(f"peak memory per run grew from {small_peak / small:.1f} to {peak / size:.1f} MB")
    if size > small and seconds / size > LIMITS["growth"] * small_seconds / small:
        broken.append(f"render time per run grew from {small_seconds / small:.2f} to {seconds / size:.2f} s")
    if dag > LIMITS["dag_seconds"]:
        broken.append(f"the DAG took {dag:.1f} s (limit {LIMITS['dag_seconds']} s)")
    print("limits: " + ("; ".join(broken) if broken else "all kept"))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
