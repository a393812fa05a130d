"""The report's runs and their plain numbers: loading every run's files, choosing runs and setups, learning
curves, the runs and versions tables, and the formatting every number shares. Plain data in, plain data out
(numpy, no plotting), so that each can be tested alone. By role beside it: ``layer_tables`` (each layer's
statistics, histograms, depth profiles), ``sweep_tables`` (trials and selections), ``signal_tables`` (mean-field
theory beside the measurements), ``accuracy_tables`` (intervals and decisions), ``verdict_words`` and
``layer_words`` (the sentences).

``runs`` is ``{(dataset, architecture, recipe, activation, seed): run}`` as ``load_runs`` returns it;
a *setup* is a (dataset, architecture, recipe) whose activations are compared. A run holds
its ``metrics`` (metrics.json), ``stats`` (the extraction's statistics JSON), ``activations`` (the
path of its activations HDF5), ``training_stats`` (CSV rows) and, when recorded, ``predictions``
(``actviz.evaluation.read_predictions``). Diverged runs are in ``runs`` but
out of every mean; ``left_out`` names them.
"""

import csv
import hashlib
import itertools
import json
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np

from actviz.errors import UserError, load_json
from actviz.evaluation import read_predictions


def _load_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error})") from None


def _key(record):
    # Runs from before architectures were a choice are the CNN's.
    return (record["dataset"], record.get("architecture") or "cnn", record["recipe"], record["activation"],
            int(record["seed"]))


def load_runs(metrics_paths, stats_paths, activation_paths, training_stats_paths, predictions_paths=()):
    """Join each run's files by (dataset, architecture, recipe, activation, seed); every run must have
    the first four. ``predictions_paths``: runs' predictions.h5, each beside its metrics.json (runs from before
    predictions were recorded have none: their churn and calibration are not compared)."""
    runs, folders = {}, {}
    for path in metrics_paths:
        metrics = load_json(path)
        runs[_key(metrics)] = {"metrics": metrics}
        folders[Path(path).parent] = _key(metrics)
    for path in predictions_paths:
        if Path(path).parent not in folders:
            raise UserError(f"{path}: predictions of a run without metrics (none beside it)")
        runs[folders[Path(path).parent]]["predictions"] = read_predictions(path)

    def attach(key, kind, value, path):
        if key not in runs:
            raise UserError(f"{path}: {kind} of a run without metrics {key}")
        runs[key][kind] = value

    for path in stats_paths:
        stats = load_json(path)
        attach(_key(stats), "stats", stats, path)
    for path in activation_paths:
        with h5py.File(path, "r") as f:
            key = _key(dict(f.attrs))
        attach(key, "activations", str(path), path)
    for path in training_stats_paths:
        rows = _load_csv(path)
        if not rows:
            raise UserError(f"{path}: empty")
        attach(_key(rows[0]), "training_stats", rows, path)
    for key, run in runs.items():
        missing = {"stats", "activations", "training_stats"} - set(run)
        if missing:
            raise UserError(f"run {'/'.join(map(str, key))} lacks its {' and '.join(sorted(missing))}")
    return runs


def ordered(values, preferred):
    """``values`` in the order of ``preferred`` (e.g. the config's), the others after them, sorted."""
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def diverged_at(run):
    """The step a run diverged at, or None."""
    return run["metrics"].get("diverged_at_step")


def seeds_of(runs, setup, activation, finite=True):
    """The seeds of an activation in a setup (dataset, architecture, recipe): those that did not
    diverge (default), or all."""
    return sorted(key[-1] for key, run in runs.items()
                  if key[:-1] == (*setup, activation) and (not finite or diverged_at(run) is None))


def setups_of(runs, dataset, architectures, recipes):
    """The setups of ``dataset`` that have runs, in the given orders."""
    return [(dataset, a, r) for a in architectures for r in recipes if any(k[:3] == (dataset, a, r) for k in runs)]


def label(setup):
    """A setup's name in sentences and legends: "architecture/recipe"."""
    return f"{setup[1]}/{setup[2]}"


def left_out(runs, dataset):
    """The diverged runs of ``dataset``, as "activation (architecture/recipe, seed N at step S)": out of
    every mean."""
    return [f"{key[3]} ({label(key)}, seed {key[4]} at step {diverged_at(run)})"
            for key, run in sorted(runs.items()) if key[0] == dataset and diverged_at(run) is not None]


def without_finite_run(runs, setup, activations):
    """{activation: how its runs diverged} for the activations of a setup whose every seed diverged: they have
    nothing to draw or average."""
    return {a: "; ".join(f"seed {key[-1]} at step {diverged_at(run)}" for key, run in sorted(runs.items())
                         if key[:-1] == (*setup, a))
            for a in activations if seeds_of(runs, setup, a, finite=False) and not seeds_of(runs, setup, a)}


def finite(value):
    """Whether ``value`` is a number (not None) and finite."""
    return value is not None and bool(np.isfinite(value))


def finite_values(values):
    """Whether any of ``values`` (None allowed) is a finite number."""
    return any(map(finite, values))


def number_text(value, style):
    """A number in words for the report: ``style`` (e.g. "%.3f") if finite, "–" if missing, "NaN" or "±∞"."""
    if value is None:
        return "–"
    if not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("∞" if value > 0 else "−∞")
    return style % value


def curve_rows(runs):
    """Learning curves of every run: one row per (run, step) with whichever values were recorded."""
    rows = []
    for (dataset, architecture, recipe, activation, seed), run in sorted(runs.items()):
        by_step = defaultdict(dict)
        for record in run["metrics"]["evaluations"] + run["metrics"]["training"]:
            by_step[record["step"]].update(record)
        for step in sorted(by_step):
            rows.append({"dataset": dataset, "architecture": architecture, "recipe": recipe,
                         "activation": activation, "seed": seed,
                         **{k: by_step[step].get(k) for k in CURVE_COLUMNS}})
    return rows


# The learning curves' columns: runs evaluate the validation split during training (older runs the test split).
CURVE_COLUMNS = ("step", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "test_loss",
                 "test_accuracy")


def mean_over_seeds(series):
    """Average several (steps, values) series on the steps they share."""
    common = sorted(set.intersection(*(set(steps) for steps, _ in series)))
    return common, [float(np.mean([dict(zip(s, v))[step] for s, v in series])) for step in common]


# (value, metrics.json list, what older runs recorded instead)
LEARNING_CURVES = (("validation_accuracy", "evaluations", "test_accuracy"), ("train_loss", "training", None))


def learning_curves(runs, setups, activations):
    """{value: {(setup label, activation): (steps, mean over finite seeds)}} for validation accuracy (the test
    accuracy of runs from before the validation split) and training loss, over the ``setups`` of one dataset."""
    curves = {}
    for key, kind, older in LEARNING_CURVES:
        curves[key] = {}
        for setup, activation in itertools.product(setups, activations):
            series = [([r["step"] for r in runs[(*setup, activation, s)]["metrics"][kind]],
                       [r.get(key, r.get(older)) for r in runs[(*setup, activation, s)]["metrics"][kind]])
                      for s in seeds_of(runs, setup, activation)]
            if series:
                curves[key][label(setup), activation] = mean_over_seeds(series)
    return curves


def run_rows(runs):
    """One row per run: its final numbers and timings, as the runs table shows them."""
    return [{"dataset": d, "architecture": arch, "recipe": r, "activation": a, "seed": s,
             **{k: run["metrics"].get(k) for k in ("final_step", "diverged_at_step", "validation_accuracy",
                                                    "test_accuracy", "train_loss",
                                                    "train_seconds", "images_per_second")}}
            for (d, arch, r, a, s), run in sorted(runs.items())]


def version_table(runs):
    """The package versions the runs were trained under: one row per distinct set, naming its runs.

    Returns ``{"packages": [names], "rows": [{"versions": {...}, "runs": [names]}]}``; runs trained
    before versions were recorded share a row with empty ``versions``.
    """
    groups = defaultdict(list)
    for key, run in sorted(runs.items()):
        versions = run["metrics"].get("versions") or {}
        groups[json.dumps(versions, sort_keys=True)].append("/".join(map(str, key[:-1])) + f"/seed{key[-1]}")
    rows = [{"versions": json.loads(versions), "runs": names} for versions, names in groups.items()]
    packages = list(dict.fromkeys(name for row in rows for name in row["versions"]))
    return {"packages": packages, "rows": rows}


def config_hash(config):
    """SHA-256 of the config as canonical JSON: equal configs give equal hashes."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
