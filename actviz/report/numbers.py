"""Every number of the report, from the runs' files: accuracy, layer statistics, learning curves,
depth profiles, histograms, summary sentences. Plain data in, plain data out (numpy, no plotting),
so that each can be tested alone.

``runs`` is ``{(dataset, architecture, recipe, activation, seed): run}`` as ``load_runs`` returns it;
a *setup* is a (dataset, architecture, recipe) whose activations are compared. A run holds
its ``metrics`` (metrics.json), ``stats`` (the extraction's statistics JSON), ``activations`` (the
path of its activations HDF5) and ``training_stats`` (CSV rows). Diverged runs are in ``runs`` but
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

from actviz.errors import UserError
from actviz.report.workers import SERIAL
from actviz.stats import (
    GRADIENT_COLUMNS,
    MOMENT_COLUMNS,
    SIGNAL_COLUMNS,
    SIGNAL_PREDICTION_COLUMNS,
    histogram_counts,
)

FINAL_STATS = ("mean", "std", "zero_fraction", "dead_fraction", "negative_fraction", "saturated_fraction")
# A layer's table in the report: mean over finite seeds.
LAYER_TABLE = (*FINAL_STATS, "outside_range_fraction", "nonfinite_fraction")


def load_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None


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


def load_runs(metrics_paths, stats_paths, activation_paths, training_stats_paths):
    """Join each run's files by (dataset, architecture, recipe, activation, seed); every run must have
    all four."""
    runs = {}
    for path in metrics_paths:
        metrics = load_json(path)
        runs[_key(metrics)] = {"metrics": metrics}

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


def nonfinite_runs(layers, setup, layer):
    """The finite runs of a setup whose extracted ``layer`` holds NaN or infinite values: [(activation, seed,
    share of its values)], from ``layer_rows``."""
    return [(r["activation"], r["seed"], r["nonfinite_fraction"]) for r in layers
            if (r["dataset"], r["architecture"], r["recipe"], r["layer"]) == (*setup, layer)
            and r["diverged_at_step"] is None and r["nonfinite_fraction"]]


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


def layer_order(runs, architecture):
    """The recorded layers of ``architecture``, input to output, as the model has them (extraction's
    ``layer_order``)."""
    first = next(run for key, run in sorted(runs.items()) if key[1] == architecture)
    if "layer_order" in first["stats"]:
        return list(first["stats"]["layer_order"])
    return list(dict.fromkeys(r["layer"] for r in first["training_stats"]))  # older runs: as training wrote them


def layer_rows(runs, layers, histograms):
    """One row per (run, layer) with the statistics of the extracted activations (after training) and
    the share outside the layer's histogram range; diverged runs are kept here, marked, and left out
    of every mean. ``layers``: {architecture: names}; ``histograms``: {(dataset, architecture):
    ``run_histograms``}."""
    rows = []
    for (dataset, architecture, recipe, activation, seed), run in sorted(runs.items()):
        for layer in layers[architecture]:
            stats = run["stats"]["layers"][layer]
            histogram = histograms[dataset, architecture].get((recipe, activation, seed, layer))
            rows.append({"dataset": dataset, "architecture": architecture, "recipe": recipe,
                         "activation": activation, "seed": seed,
                         "diverged_at_step": diverged_at(run), "layer": layer, **{k: stats[k] for k in FINAL_STATS},
                         "min": stats["min"], "max": stats["max"],
                         "outside_range_fraction": outside_fraction(histogram) if histogram else None,
                         "nonfinite_fraction": nonfinite_fraction(histogram) if histogram else None})
    return rows


def final_layer_table(runs, layers, setup, layer, activations):
    """A layer's statistics after training, one row per activation, mean over its finite seeds."""
    table = []
    for activation in activations:
        seeds = seeds_of(runs, setup, activation)
        rows = [r for r in layers if (r["dataset"], r["architecture"], r["recipe"], r["activation"], r["layer"]) == (
            *setup, activation, layer) and r["seed"] in seeds]
        if rows:
            table.append({"activation": activation, "seeds": len(rows),
                          **{k: None if any(r[k] is None for r in rows) else float(np.mean([r[k] for r in rows]))
                             for k in LAYER_TABLE}})
        elif seeds_of(runs, setup, activation, finite=False):
            table.append({"activation": activation, "seeds": 0, **dict.fromkeys(LAYER_TABLE)})
    return table


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


# What the depth plots and tables show of each layer: measured, predicted by the moment map, gradients, and how
# signals travel (measured, and as mean-field theory predicts).
DEPTH_STATS = ("mean", "std", *MOMENT_COLUMNS, *GRADIENT_COLUMNS, *SIGNAL_COLUMNS, *SIGNAL_PREDICTION_COLUMNS)


def depth_profiles(runs, setup, activations, layers, stats=DEPTH_STATS):
    """{(activation, when): {stat: [per layer], "seeds": n}} at init and after training, mean over
    the finite seeds (a stat missing at a layer, e.g. a prediction behind batch norm, is None)."""
    profiles = {}
    for activation in activations:
        seeds = seeds_of(runs, setup, activation)
        if not seeds:
            continue
        by_layer = [{layer: [r for r in runs[(*setup, activation, s)]["training_stats"] if r["layer"] == layer]
                     for layer in layers} for s in seeds]
        for when, pick in (("init", 0), ("trained", -1)):
            values = {}
            for stat in stats:
                per_layer = [[_number(rows[layer][pick].get(stat)) for rows in by_layer] for layer in layers]
                values[stat] = [None if any(v is None for v in vs) else float(np.mean(vs)) for vs in per_layer]
            profiles[activation, when] = {**values, "seeds": len(seeds)}
    return profiles


def _number(text):
    return None if text in (None, "") else float(text)


def depth_rows(profiles, layers):
    """The depth profiles as table rows: activation, when, seeds, then per layer every stat."""
    return [{"activation": a, "when": w, "seeds": values["seeds"],
             **{f"{layer}_{stat}": values[stat][i] for i, layer in enumerate(layers)
                for stat in values if stat != "seeds"}}
            for (a, w), values in profiles.items()]


def first_example(path, layer):
    """The first probe image (its pixels) and its activations of ``layer`` in a run's activations HDF5."""
    with h5py.File(path, "r") as f:
        return f["probe"]["images"][0], f["activations"][layer][0]


AUTO_QUANTILES = (0.005, 0.995)  # an automatic range holds at least 99% of every run's values


def histogram_ranges(runs, dataset, architecture, layers, setting, workers=SERIAL):
    """{layer: (low, high)} of the final histograms of an architecture on ``dataset``: ``setting`` if it
    is a range, else per layer from the finite runs' own values (the lowest 0.5% and highest 99.5%
    quantile over the runs, extended to include 0), so that every run of a layer is drawn on the
    same axis. ``workers`` (``actviz.report.workers.Workers``) reads the runs' files in parallel."""
    if setting != "auto":
        return {layer: (float(setting[0]), float(setting[1])) for layer in layers}
    mine = [run for key, run in sorted(runs.items()) if key[:2] == (dataset, architecture)]
    paths = [run["activations"] for run in mine if diverged_at(run) is None] or [run["activations"] for run in mine]
    per_run = workers.map(_run_outer_quantiles, [(path, layers) for path in paths])
    ranges = {}
    for layer in layers:
        quantiles = np.array([q[layer] for q in per_run if q[layer] is not None]).reshape(-1, 2)
        if not len(quantiles):  # no finite value in any run: nothing will be drawn on it
            ranges[layer] = (-1.0, 1.0)
            continue
        low, high = min(float(quantiles[:, 0].min()), 0.0), max(float(quantiles[:, 1].max()), 0.0)
        ranges[layer] = (low, high) if low < high else (low - 0.5, high + 0.5)
    return ranges


def _run_outer_quantiles(task):
    """(In a worker.) {layer: outer quantiles} of one run's activations file, read once."""
    path, layers = task
    with h5py.File(path, "r") as f:
        return {layer: _outer_quantiles(f["activations"][layer][:]) for layer in layers}


def _outer_quantiles(values):
    """The 0.5% and 99.5% quantiles of the finite values, each rounded outwards to a value: at most 0.5% lie
    below, 0.5% above; None if no value is finite."""
    values = np.asarray(values)
    if not np.isfinite(values).all():
        values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return (float(np.quantile(values, AUTO_QUANTILES[0], method="lower")),
            float(np.quantile(values, AUTO_QUANTILES[1], method="higher")))


def run_histograms(runs, dataset, architecture, layers, ranges, bins, workers=SERIAL):
    """{(recipe, activation, seed, layer): histogram} of every finite run of an architecture on
    ``dataset`` after training, over the layer's shared range: edges, counts, and the values below
    and above it. ``workers`` reads the runs' files in parallel."""
    chosen = [(key, run) for key, run in sorted(runs.items())
              if key[:2] == (dataset, architecture) and diverged_at(run) is None]
    per_run = workers.map(_run_histograms, [(run["activations"], layers, ranges, bins) for _, run in chosen])
    return {(recipe, activation, seed, layer): histogram
            for ((_, _, recipe, activation, seed), _), histograms in zip(chosen, per_run)
            for layer, histogram in histograms.items()}


def _run_histograms(task):
    """(In a worker.) {layer: histogram over its range} of one run's activations file, read once."""
    path, layers, ranges, bins = task
    histograms = {}
    with h5py.File(path, "r") as f:
        for layer in layers:
            values = f["activations"][layer][:]
            finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
            counts = histogram_counts(finite, ranges[layer], bins)
            histograms[layer] = {"edges": np.linspace(*ranges[layer], bins + 1).tolist(),
                                 "counts": counts["counts"].tolist(), "below": counts["below"],
                                 "above": counts["above"], "nonfinite": int(values.size - finite.size)}
    return histograms


def outside_fraction(histogram):
    """The share of a histogram's values outside its range, NaN and infinite ones included."""
    outside = histogram["below"] + histogram["above"] + histogram.get("nonfinite", 0)
    return outside / (outside + sum(histogram["counts"]))


def nonfinite_fraction(histogram):
    """The share of a run's values of a layer that are NaN or infinite (not in its histogram)."""
    nonfinite = histogram.get("nonfinite", 0)
    return nonfinite / (nonfinite + histogram["below"] + histogram["above"] + sum(histogram["counts"]))


def final_histograms(runs, histograms, setup, layer, activations):
    """A layer after training, per activation: histogram counts summed over the finite seeds, the first
    finite seed's activations of the first probe image. Returns (edges, {activation: counts}, {activation:
    example}, the image's pixels), ``({}, {}, None)`` after edges if no activation has a finite seed;
    ``histograms`` those of the setup's dataset and architecture (``run_histograms``)."""
    summed, examples, edges, image = {}, {}, None, None
    for activation in activations:
        seeds = seeds_of(runs, setup, activation)
        if not seeds:
            continue
        per_seed = [histograms[setup[2], activation, s, layer] for s in seeds]
        summed[activation] = np.sum([h["counts"] for h in per_seed], axis=0)
        image, examples[activation] = first_example(runs[(*setup, activation, seeds[0])]["activations"], layer)
        edges = per_seed[0]["edges"]
    return edges, summed, examples, image


BANDS = ("p1", "p5", "p50", "p95", "p99")  # the percentiles training records at every stats step


def percentiles_over_training(runs, setup, layer, activations):
    """A layer's 1st, 5th, 50th, 95th and 99th percentile at every recorded step, per activation, mean
    over its finite seeds on the steps they share: {activation: (steps, {percentile: values})}."""
    bands = {}
    for activation in activations:
        seeds = seeds_of(runs, setup, activation)
        if not seeds:
            continue
        per_seed = [[r for r in runs[(*setup, activation, s)]["training_stats"] if r["layer"] == layer]
                    for s in seeds]
        series = {p: mean_over_seeds([([int(r["step"]) for r in rows], [float(r[p]) for r in rows])
                                      for rows in per_seed]) for p in BANDS}
        bands[activation] = (series["p50"][0], {p: values for p, (_, values) in series.items()})
    return bands


# What a sweep's selection is made for: a setup's activation.
SELECTION_KEYS = ("dataset", "architecture", "recipe", "activation")
# The columns of trials.csv and selected.csv; every swept setting's column comes after the first four.
TRIAL_COLUMNS = (*SELECTION_KEYS, "trial", "seed", "steps", "validation_accuracy", "validation_loss",
                 "diverged_at_step", "selected")
SELECTED_COLUMNS = (*SELECTION_KEYS, "trial", "validation_accuracy", "trials", "seeds", "rungs", "runner_up",
                    "compared_at_step", "difference", "ci_low", "ci_high", "p_value", "method")
MARGIN_KEYS = ("difference", "ci_low", "ci_high", "p_value", "method")


def sweep_rows(trials, selections):
    """A sweep's trials and selections as table rows: {"trials": one row per trial and seed (its swept settings,
    steps reached, validation result, whether selected), "selected": one row per activation (the selected
    settings, their mean validation accuracy, the number of trials), "keys": the swept settings}; empty
    without a sweep. ``trials``: the trials' metrics; ``selections``: select_trial.py's JSON."""
    keys = list(dict.fromkeys(k for s in selections for k in s["sweep"]))
    chosen = {tuple(s[k] for k in SELECTION_KEYS): s for s in selections}
    trial_rows = []
    for m in sorted(trials, key=lambda m: (*(m[k] for k in SELECTION_KEYS), m["trial"] or "", m["seed"])):
        ident = tuple(m[k] for k in SELECTION_KEYS)
        selection = chosen.get(ident, {})
        trial_rows.append({**dict(zip(SELECTION_KEYS, ident)), **{k: m["settings"].get(k) for k in keys},
                           "trial": m["trial"], "seed": m["seed"], "steps": m["final_step"],
                           "validation_accuracy": m.get("validation_accuracy"),
                           "validation_loss": m.get("validation_loss"), "diverged_at_step": m.get("diverged_at_step"),
                           "selected": m["trial"] == selection.get("trial")})
    selected_rows = [{**{k: s[k] for k in SELECTION_KEYS}, **{k: (s["settings"] or {}).get(k) for k in keys},
                      "trial": s["trial"], "validation_accuracy": s["validation_accuracy"], "trials": s["trials"],
                      "seeds": len(next(iter(s["results"].values()), [])), **margin_row(s)} for s in selections]
    return {"trials": trial_rows, "selected": selected_rows, "keys": keys}


def margin_row(selection):
    """The rungs of a selection (their steps; one for a grid) and how far its best trial was ahead of the
    runner-up at the last rung that had two trials to compare (``actviz.sweeps.margin``); None where none had."""
    rungs = selection.get("rungs") or []
    compared = next((r for r in reversed(rungs) if r.get("margin")), None)
    margin = compared["margin"] if compared else {}
    return {"rungs": [r["steps"] for r in rungs], "runner_up": margin.get("runner_up"),
            "compared_at_step": compared["steps"] if compared else None, **{k: margin.get(k) for k in MARGIN_KEYS}}


def sensitivity(trial_rows, setup, keys, activations):
    """How validation accuracy depends on each swept setting in one setup: {key: {activation: [(value, mean, low,
    high) or (value, None, None, None) where every trial with that value diverged]}}, the values in the sweep's
    order; at each value the best trial with it (over the other swept settings), its mean over the sweep seeds
    and their range. ``trial_rows``: ``sweep_rows``' trials."""
    mine = [r for r in trial_rows if (r["dataset"], r["architecture"], r["recipe"]) == tuple(setup)]
    curves = {}
    for key in keys:
        curves[key] = {}
        for activation in activations:
            rows = [r for r in mine if r["activation"] == activation]
            if not rows:
                continue
            by_trial = defaultdict(list)
            for r in rows:
                by_trial[r["trial"]].append(r)
            points = []
            for value in dict.fromkeys(r[key] for r in rows):
                finite = [[r["validation_accuracy"] for r in seeds] for seeds in by_trial.values()
                          if seeds[0][key] == value and all(r["diverged_at_step"] is None for r in seeds)]
                if not finite:
                    points.append((value, None, None, None))
                    continue
                best = max(finite, key=lambda accuracies: float(np.mean(accuracies)))
                points.append((value, float(np.mean(best)), float(min(best)), float(max(best))))
            curves[key][activation] = points
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


# signal.csv: one row per dataset, architecture, recipe and activation.
SIGNAL_TABLE = ("dataset", "architecture", "recipe", "activation", "seeds", "hidden_layers", "in_theory", "sigma_w2",
                "sigma_b2", "q_star", "c_star", "chi1", "chi_c", "xi_c", "growth", "phase", "corr_last",
                "corr_last_predicted", "corr_last_path", "parts_at", "parts_at_when")
# Where a measured correlation parts from theory: the first layer more than this away from its prediction.
PARTS = 0.1


def signal_rows(runs, setup, activations, layers, profiles):
    """The mean-field picture of each activation of a setup at its initialisation (signal.csv): the weight
    variances of its hidden dense layers (mean over them) that their initialisers imply (runs from before
    this was recorded: measured at step 0, mean over the seeds), the fixed points, chi1, chi_c, xi_c and phase
    they imply (``actviz.signal.phase``), whether every hidden layer is inside the theory (dense, no batch norm
    before it), the measured correlation at the last hidden layer against its predictions, and the first layer
    and moment (init or trained) where the measured correlation lies more than ``PARTS`` from the one-step
    prediction. ``profiles``: ``depth_profiles``."""
    from actviz import signal
    from actviz.activations import numpy_function

    hidden = [i for i, layer in enumerate(layers) if layer.startswith("dense")]
    rows = []
    for activation in activations:
        init, trained = profiles.get((activation, "init")), profiles.get((activation, "trained"))
        seeds = seeds_of(runs, setup, activation)
        if init is None or not hidden or any(init["sigma_w2"][i] is None for i in hidden):
            continue
        metrics = runs[(*setup, activation, seeds[0])]["metrics"]
        implied = metrics.get("initialisation") or {}  # what the initialisers imply; else the weights at step 0
        sigma_w2, sigma_b2 = (float(np.mean([implied[layers[i]][key] if implied.get(layers[i], {}).get(key) is not None
                                             else init[key][i] for i in hidden])) for key in ("sigma_w2", "sigma_b2"))
        theory = signal.phase(numpy_function(activation, metrics.get("settings", {}).get("lrelu_slope", 0.2)),
                              sigma_w2, sigma_b2)
        parts = [(layer, when) for when, values in (("init", init), ("trained", trained)) if values
                 for i, layer in enumerate(layers)
                 if values["predicted_corr"][i] is not None and values["corr"][i] is not None
                 and abs(values["corr"][i] - values["predicted_corr"][i]) > PARTS]
        last = hidden[-1]
        rows.append({"dataset": setup[0], "architecture": setup[1], "recipe": setup[2], "activation": activation,
                     "seeds": len(seeds), "hidden_layers": len(hidden),
                     "in_theory": all(init["predicted_corr"][i] is not None for i in hidden),
                     "sigma_w2": sigma_w2, "sigma_b2": sigma_b2,
                     **{k: theory[k] for k in ("q_star", "c_star", "chi1", "chi_c", "xi_c", "growth")},
                     "phase": theory["phase"],
                     "corr_last": init["corr"][last], "corr_last_predicted": init["predicted_corr"][last],
                     "corr_last_path": init["path_corr"][last],
                     "parts_at": parts[0][0] if parts else None, "parts_at_when": parts[0][1] if parts else None})
    return rows


def phase_points(rows):
    """{activation: [(setup label, sigma_w2, sigma_b2)]}: where each setup's runs start in the phase diagram."""
    points = defaultdict(list)
    for r in rows:
        points[r["activation"]].append((f"{r['architecture']}/{r['recipe']}", r["sigma_w2"], r["sigma_b2"]))
    return dict(points)


def phase_diagram(activation, slope=0.2, sigma_w2_max=2.5, sigma_b2_max=0.5, size=(48, 24)):
    """(sigma_w2 values, sigma_b2 values, chi1 [sigma_b2, sigma_w2]) over the plane up to the maxima: the phase
    diagram of ``activation`` (``actviz.signal.chi1_grid``; NaN where the length explodes)."""
    from actviz import signal
    from actviz.activations import numpy_function

    w = np.linspace(0.05, sigma_w2_max, size[0])
    b = np.linspace(0.0, sigma_b2_max, size[1])
    return w, b, signal.chi1_grid(numpy_function(activation, slope), w, b)
