"""Every number of the report, from the runs' files: accuracy, layer statistics, learning curves,
depth profiles, histograms, summary sentences. Plain data in, plain data out (numpy, no plotting),
so that each can be tested alone.

``runs`` is ``{(dataset, recipe, activation, seed): run}`` as ``load_runs`` returns it; a run holds
its ``metrics`` (metrics.json), ``stats`` (the extraction's statistics JSON), ``activations`` (the
path of its activations HDF5) and ``training_stats`` / ``training_histograms`` (CSV rows).
"""

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np

from actviz.errors import UserError

FINAL_STATS = ("mean", "std", "zero_fraction", "dead_fraction", "negative_fraction", "saturated_fraction")


def _load_json(path):
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
    return record["dataset"], record["recipe"], record["activation"], int(record["seed"])


def load_runs(metrics_paths, stats_paths, activation_paths, training_stats_paths, histogram_paths):
    """Join each run's files by (dataset, recipe, activation, seed); every run must have all five."""
    runs = {}
    for path in metrics_paths:
        metrics = _load_json(path)
        runs[_key(metrics)] = {"metrics": metrics}

    def attach(key, kind, value, path):
        if key not in runs:
            raise UserError(f"{path}: {kind} of a run without metrics {key}")
        runs[key][kind] = value

    for path in stats_paths:
        stats = _load_json(path)
        attach(_key(stats), "stats", stats, path)
    for path in activation_paths:
        with h5py.File(path, "r") as f:
            key = (f.attrs["dataset"], f.attrs["recipe"], f.attrs["activation"], int(f.attrs["seed"]))
        attach(key, "activations", str(path), path)
    for kind, paths in (("training_stats", training_stats_paths), ("training_histograms", histogram_paths)):
        for path in paths:
            rows = _load_csv(path)
            if not rows:
                raise UserError(f"{path}: empty")
            attach(_key(rows[0]), kind, rows, path)
    for key, run in runs.items():
        missing = {"stats", "activations", "training_stats", "training_histograms"} - set(run)
        if missing:
            raise UserError(f"run {'/'.join(map(str, key))} lacks its {' and '.join(sorted(missing))}")
    return runs


def ordered(values, preferred):
    """``values`` in the order of ``preferred`` (e.g. the config's), the others after them, sorted."""
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def seeds_of(runs, dataset, recipe, activation):
    return sorted(s for d, r, a, s in runs if (d, r, a) == (dataset, recipe, activation))


def accuracy_rows(runs, datasets, recipes, activations):
    """One row per (dataset, recipe, activation): test accuracy mean and std over seeds, and each seed's."""
    rows = []
    for dataset in datasets:
        for recipe in recipes:
            for activation in activations:
                seeds = seeds_of(runs, dataset, recipe, activation)
                if not seeds:
                    continue
                metrics = [runs[dataset, recipe, activation, s]["metrics"] for s in seeds]
                # A diverged run has no test accuracy: the mean is over the others, the row says which.
                values = np.array([m["test_accuracy"] for m in metrics if m.get("diverged_at_step") is None])
                rows.append({"dataset": dataset, "recipe": recipe, "activation": activation, "seeds": seeds,
                             "test_accuracy_mean": float(values.mean()) if len(values) else None,
                             "test_accuracy_std": float(values.std()) if len(values) else None,
                             "test_accuracy_per_seed": [m["test_accuracy"] for m in metrics],
                             "diverged": "; ".join(f"seed {s} at step {m['diverged_at_step']}"
                                                   for s, m in zip(seeds, metrics)
                                                   if m.get("diverged_at_step") is not None),
                             "steps": metrics[0]["final_step"]})
    return rows


def layer_rows(runs):
    """One row per (run, layer) with the statistics of the extracted activations (after training)."""
    rows = []
    for (dataset, recipe, activation, seed), run in sorted(runs.items()):
        for layer, stats in run["stats"]["layers"].items():
            rows.append({"dataset": dataset, "recipe": recipe, "activation": activation, "seed": seed,
                         "layer": layer, **{k: stats[k] for k in FINAL_STATS}, "min": stats["min"],
                         "max": stats["max"], "outside_range_fraction": (stats["histogram"]["below"]
                                                                         + stats["histogram"]["above"])
                         / stats["count"]})
    return rows


def final_layer_table(layers, dataset, recipe, layer, activations):
    """A layer's statistics after training, one row per activation, mean over its seeds."""
    by_activation = defaultdict(list)
    for row in layers:
        if (row["dataset"], row["recipe"], row["layer"]) == (dataset, recipe, layer):
            by_activation[row["activation"]].append(row)
    return [{"activation": a, **{k: (None if any(r[k] is None for r in by_activation[a])
                                     else float(np.mean([r[k] for r in by_activation[a]])))
                                 for k in FINAL_STATS}}
            for a in activations if a in by_activation]


def curve_rows(runs):
    """Learning curves of every run: one row per (run, step) with whichever values were recorded."""
    rows = []
    for (dataset, recipe, activation, seed), run in sorted(runs.items()):
        by_step = defaultdict(dict)
        for record in run["metrics"]["evaluations"] + run["metrics"]["training"]:
            by_step[record["step"]].update(record)
        for step in sorted(by_step):
            rows.append({"dataset": dataset, "recipe": recipe, "activation": activation, "seed": seed,
                         **{k: by_step[step].get(k) for k in ("step", "train_loss", "train_accuracy", "test_loss",
                                                              "test_accuracy")}})
    return rows


def mean_over_seeds(series):
    """Average several (steps, values) series on the steps they share."""
    common = sorted(set.intersection(*(set(steps) for steps, _ in series)))
    return common, [float(np.mean([dict(zip(s, v))[step] for s, v in series])) for step in common]


LEARNING_CURVES = (("test_accuracy", "evaluations"), ("train_loss", "training"))  # (value, metrics.json list)


def learning_curves(runs, dataset, recipes, activations):
    """{value: {(recipe, activation): (steps, mean over seeds)}} for test accuracy and training loss."""
    curves = {}
    for key, kind in LEARNING_CURVES:
        curves[key] = {}
        for recipe in recipes:
            for activation in activations:
                series = [([r["step"] for r in runs[dataset, recipe, activation, s]["metrics"][kind]],
                           [r[key] for r in runs[dataset, recipe, activation, s]["metrics"][kind]])
                          for s in seeds_of(runs, dataset, recipe, activation)]
                if series:
                    curves[key][recipe, activation] = mean_over_seeds(series)
    return curves


def depth_profiles(runs, dataset, recipe, activations, layers):
    """{(activation, when): {"mean": [...], "std": [...]}} at init and after training, mean over seeds."""
    profiles = {}
    for activation in activations:
        seeds = seeds_of(runs, dataset, recipe, activation)
        if not seeds:
            continue
        for when in ("init", "trained"):
            values = {"mean": [], "std": []}
            for layer in layers:
                for stat in values:
                    per_seed = []
                    for seed in seeds:
                        rows = [r for r in runs[dataset, recipe, activation, seed]["training_stats"]
                                if r["layer"] == layer]
                        row = rows[0] if when == "init" else rows[-1]
                        per_seed.append(float(row[stat]))
                    values[stat].append(float(np.mean(per_seed)))
            profiles[activation, when] = values
    return profiles


def depth_rows(profiles):
    """The depth profiles as table rows: activation, when, mean_0, std_0, mean_1 ... (by layer index)."""
    return [{"activation": a, "when": w, **{f"{stat}_{i}": v for stat in ("mean", "std")
                                            for i, v in enumerate(values[stat])}}
            for (a, w), values in profiles.items()]


def first_example(path, layer):
    """The first probe image's activations of ``layer`` in a run's activations HDF5."""
    with h5py.File(path, "r") as f:
        return f["activations"][layer][0]


def final_histograms(runs, dataset, recipe, layer, activations):
    """A layer after training, per activation: histogram counts summed over seeds, the first seed's
    first probe example. Returns (edges, {activation: counts}, {activation: example})."""
    histograms, examples, edges = {}, {}, None
    for activation in activations:
        seeds = seeds_of(runs, dataset, recipe, activation)
        if not seeds:
            continue
        stats = [runs[dataset, recipe, activation, s]["stats"]["layers"][layer]["histogram"] for s in seeds]
        histograms[activation] = np.sum([h["counts"] for h in stats], axis=0)
        examples[activation] = first_example(runs[dataset, recipe, activation, seeds[0]]["activations"], layer)
        edges = stats[0]["edges"]
    return edges, histograms, examples


def histograms_over_training(runs, dataset, recipe, layer, activations):
    """A layer's histogram at every recorded step, per activation (the first seed):
    [(activation, steps, edges, counts [steps, bins])]."""
    panels = []
    for activation in activations:
        seeds = seeds_of(runs, dataset, recipe, activation)
        if not seeds:
            continue
        rows = [r for r in runs[dataset, recipe, activation, seeds[0]]["training_histograms"] if r["layer"] == layer]
        steps = sorted({int(r["step"]) for r in rows})
        edges = sorted({float(r["bin_low"]) for r in rows}) + [max(float(r["bin_high"]) for r in rows)]
        counts = np.zeros((len(steps), len(edges) - 1))
        for r in rows:
            counts[steps.index(int(r["step"])), edges.index(float(r["bin_low"]))] = int(r["count"])
        panels.append((activation, steps, edges, counts))
    return panels


def _closeness(mean, std):
    """How far a layer is from SELU's fixed point (mean 0, std 1)."""
    return abs(mean) + abs(std - 1.0)


def best(accuracy):
    """The accuracy row with the highest mean, among those with one (None if every run diverged)."""
    finite = [r for r in accuracy if r["test_accuracy_mean"] is not None]
    return max(finite, key=lambda r: r["test_accuracy_mean"]) if finite else None


def summary_sentences(dataset, accuracy, profiles_by_recipe, layers):
    """Plain sentences stating what the numbers of one dataset show."""
    top = best(accuracy)
    if top is None:
        sentences = [f"Every run on {dataset} diverged: no test accuracy to compare."]
    else:
        seeds = len(top["seeds"])
        sentences = [f"Best test accuracy on {dataset}: {top['activation']} with the {top['recipe']} recipe, "
                     f"{top['test_accuracy_mean']:.4f} ± {top['test_accuracy_std']:.4f} over {seeds} "
                     f"seed{'s' if seeds != 1 else ''}."]
    diverged = [f"{r['activation']} ({r['recipe']}, {r['diverged']})" for r in accuracy if r["diverged"]]
    if diverged:
        sentences.append(f"Diverged (loss NaN or infinite): {', '.join(diverged)}.")
    last = len(layers) - 2  # the last hidden layer (before the logits)
    candidates = [(recipe, activation, values["mean"][last], values["std"][last])
                  for recipe, profiles in profiles_by_recipe.items()
                  for (activation, when), values in profiles.items() if when == "trained"]
    if candidates:
        recipe, activation, mean, std = min(candidates, key=lambda c: _closeness(c[2], c[3]))
        sentences.append(f"At {layers[last]}, the last hidden layer, {activation} ({recipe}) stays closest to "
                         f"mean 0 and std 1 after training (mean {mean:.2f}, std {std:.2f}).")
    for recipe, profiles in profiles_by_recipe.items():
        if ("selu", "init") in profiles:
            init, trained = profiles["selu", "init"], profiles["selu", "trained"]
            sentences.append(f"SELU ({recipe}) at {layers[last]}: mean {init['mean'][last]:.2f}, std "
                             f"{init['std'][last]:.2f} at initialisation; {trained['mean'][last]:.2f}, "
                             f"{trained['std'][last]:.2f} after training.")
    return sentences


def run_rows(runs):
    """One row per run: its final numbers and timings, as the runs table shows them."""
    return [{"dataset": d, "recipe": r, "activation": a, "seed": s, **{k: run["metrics"].get(k) for k in (
        "final_step", "diverged_at_step", "test_accuracy", "train_loss", "train_seconds", "images_per_second")}}
            for (d, r, a, s), run in sorted(runs.items())]


def version_table(runs):
    """The package versions the runs were trained under: one row per distinct set, naming its runs.

    Returns ``{"packages": [names], "rows": [{"versions": {...}, "runs": [names]}]}``; runs trained
    before versions were recorded share a row with empty ``versions``.
    """
    groups = defaultdict(list)
    for key, run in sorted(runs.items()):
        versions = run["metrics"].get("versions") or {}
        groups[json.dumps(versions, sort_keys=True)].append("/".join(map(str, key[:3])) + f"/seed{key[3]}")
    rows = [{"versions": json.loads(versions), "runs": names} for versions, names in groups.items()]
    packages = list(dict.fromkeys(name for row in rows for name in row["versions"]))
    return {"packages": packages, "rows": rows}


def config_hash(config):
    """SHA-256 of the config as canonical JSON: equal configs give equal hashes."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
