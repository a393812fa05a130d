"""The HTML report: accuracy, learning curves, statistics against depth and over training, and every
layer's activations side by side, per dataset and recipe. Every number is exported too."""

import csv
import datetime
import hashlib
import json
import platform
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

from actviz.atomic import write_csv, write_json, write_text
from actviz.data import read_info
from actviz.errors import UserError
from actviz.plots import (draw_curves, draw_depth_profile, draw_grid, draw_heatmap, draw_overlaid_histograms,
                          figure_to_png_base64, new_figure)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
PACKAGES = ("tensorflow", "keras", "tensorboard", "tensorflow-plot", "numpy", "scipy", "h5py", "matplotlib",
            "snakemake", "Jinja2")
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


def _number(text):
    return float(text) if text not in ("", None) else None


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


def _ordered(values, preferred):
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def _seeds(runs, dataset, recipe, activation):
    return sorted(s for d, r, a, s in runs if (d, r, a) == (dataset, recipe, activation))


def accuracy_rows(runs, datasets, recipes, activations):
    """One row per (dataset, recipe, activation): test accuracy mean and std over seeds, and each seed's."""
    rows = []
    for dataset in datasets:
        for recipe in recipes:
            for activation in activations:
                seeds = _seeds(runs, dataset, recipe, activation)
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


def _mean_over_seeds(series):
    """Average several (steps, values) series on the steps they share."""
    common = sorted(set.intersection(*(set(steps) for steps, _ in series)))
    return common, [float(np.mean([dict(zip(s, v))[step] for s, v in series])) for step in common]


def learning_curves_figure(runs, dataset, recipes, activations):
    fig = new_figure(11, 3.8)
    axes = fig.subplots(1, 2)
    for key, axis, ylabel, kind in (("test_accuracy", axes[0], "test accuracy (whole test split)", "evaluations"),
                                    ("train_loss", axes[1], "training loss (mean over log_every steps)",
                                     "training")):
        curves = {}
        for recipe in recipes:
            for activation in activations:
                series = [([r["step"] for r in runs[dataset, recipe, activation, s]["metrics"][kind]],
                           [r[key] for r in runs[dataset, recipe, activation, s]["metrics"][kind]])
                          for s in _seeds(runs, dataset, recipe, activation)]
                if series:
                    curves[recipe, activation] = _mean_over_seeds(series)
        draw_curves(axis, curves, ylabel)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=8)
    return figure_to_png_base64(fig)


def depth_profiles(runs, dataset, recipe, activations, layers):
    """{(activation, when): {"mean": [...], "std": [...]}} at init and after training, mean over seeds."""
    profiles = {}
    for activation in activations:
        seeds = _seeds(runs, dataset, recipe, activation)
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


def depth_figure(layers, profiles):
    fig = new_figure(11, 3.6)
    axes = fig.subplots(1, 2)
    for axis, stat, target in ((axes[0], "mean", 0.0), (axes[1], "std", 1.0)):
        draw_depth_profile(axis, layers, {k: v[stat] for k, v in profiles.items()}, target, stat)
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7, ncol=2)
    return figure_to_png_base64(fig)


def _first_example(path, layer):
    with h5py.File(path, "r") as f:
        return f["activations"][layer][0]


def layer_figure(runs, dataset, recipe, layer, activations):
    """Overlaid final histograms of every activation (left), one example's grids side by side (right)."""
    columns = [(a, _seeds(runs, dataset, recipe, a)) for a in activations]
    columns = [(a, seeds) for a, seeds in columns if seeds]
    histograms, examples = {}, []
    for activation, seeds in columns:
        stats = [runs[dataset, recipe, activation, s]["stats"]["layers"][layer]["histogram"] for s in seeds]
        histograms[activation] = np.sum([h["counts"] for h in stats], axis=0)
        examples.append(_first_example(runs[dataset, recipe, activation, seeds[0]]["activations"], layer))
    edges = stats[0]["edges"]
    vmin, vmax = min(float(e.min()) for e in examples), max(float(e.max()) for e in examples)
    fig = new_figure(3.6 + 2.6 * len(columns), 3.0)
    axes = fig.subplots(1, len(columns) + 1, width_ratios=[1.5] + [1] * len(columns))
    draw_overlaid_histograms(axes[0], histograms, edges)
    for axis, (activation, _), example in zip(axes[1:], columns, examples):
        image = draw_grid(axis, example, vmin, vmax, colorbar=False)
        axis.set_title(activation, fontsize=10)
    fig.colorbar(image, ax=list(axes[1:]), shrink=0.9, label="activation value")
    return figure_to_png_base64(fig)


def heatmap_figure(runs, dataset, recipe, layer, activations):
    """Histograms over training of every activation, one shared log colour scale."""
    from matplotlib.colors import LogNorm

    panels = []
    for activation in activations:
        seeds = _seeds(runs, dataset, recipe, activation)
        if not seeds:
            continue
        rows = [r for r in runs[dataset, recipe, activation, seeds[0]]["training_histograms"] if r["layer"] == layer]
        steps = sorted({int(r["step"]) for r in rows})
        edges = sorted({float(r["bin_low"]) for r in rows}) + [max(float(r["bin_high"]) for r in rows)]
        counts = np.zeros((len(steps), len(edges) - 1))
        for r in rows:
            counts[steps.index(int(r["step"])), edges.index(float(r["bin_low"]))] = int(r["count"])
        panels.append((activation, steps, edges, counts))
    top = max(c.max() for *_, c in panels)
    norm = LogNorm(vmin=1, vmax=max(top, 10))
    fig = new_figure(0.6 + 3.0 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for axis, (activation, steps, edges, counts) in zip(axes, panels):
        image = draw_heatmap(axis, steps, edges, np.where(counts > 0, counts, np.nan), norm)
        axis.set_title(activation, fontsize=10)
    axes[0].set_ylabel("activation value")
    fig.colorbar(image, ax=list(axes), label="count (log)")
    return figure_to_png_base64(fig)


def _closeness(mean, std):
    """How far a layer is from SELU's fixed point (mean 0, std 1)."""
    return abs(mean) + abs(std - 1.0)


def _best(accuracy):
    """The accuracy row with the highest mean, among those with one (None if every run diverged)."""
    finite = [r for r in accuracy if r["test_accuracy_mean"] is not None]
    return max(finite, key=lambda r: r["test_accuracy_mean"]) if finite else None


def summary_sentences(dataset, accuracy, profiles_by_recipe, layers):
    """Plain sentences stating what the numbers of one dataset show."""
    best = _best(accuracy)
    if best is None:
        sentences = [f"Every run on {dataset} diverged: no test accuracy to compare."]
    else:
        seeds = len(best["seeds"])
        sentences = [f"Best test accuracy on {dataset}: {best['activation']} with the {best['recipe']} recipe, "
                     f"{best['test_accuracy_mean']:.4f} ± {best['test_accuracy_std']:.4f} over {seeds} "
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


def package_versions():
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def config_hash(config):
    """SHA-256 of the config as canonical JSON: equal configs give equal hashes."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def render_report(metrics_paths, stats_paths, activation_paths, training_stats_paths, histogram_paths,
                  dataset_paths, config, out_html, tables_dir):
    """Write the self-contained HTML report and the CSV/JSON of every number in it."""
    import jinja2

    runs = load_runs(metrics_paths, stats_paths, activation_paths, training_stats_paths, histogram_paths)
    if not runs:
        raise UserError("no runs to report")
    datasets = _ordered({k[0] for k in runs}, config.get("datasets", []))
    recipes = _ordered({k[1] for k in runs}, config.get("recipes", []))
    activations = _ordered({k[2] for k in runs}, config.get("activations", []))
    data_info = {info["name"]: info for info in map(read_info, dataset_paths)}
    accuracy = accuracy_rows(runs, datasets, recipes, activations)
    layers = layer_rows(runs)
    layer_names = list(next(iter(runs.values()))["stats"]["layers"])

    sections = []
    for dataset in datasets:
        dataset_accuracy = [r for r in accuracy if r["dataset"] == dataset]
        dataset_recipes = [r for r in recipes if any(k[:2] == (dataset, r) for k in runs)]
        profiles = {recipe: depth_profiles(runs, dataset, recipe, activations, layer_names)
                    for recipe in dataset_recipes}
        best = _best(dataset_accuracy)
        recipe_sections = []
        for recipe in dataset_recipes:
            final = defaultdict(lambda: defaultdict(list))
            for row in layers:
                if (row["dataset"], row["recipe"]) == (dataset, recipe):
                    final[row["layer"]][row["activation"]].append(row)
            recipe_sections.append({
                "recipe": recipe,
                "depth_figure": depth_figure(layer_names, profiles[recipe]),
                "depth": [{"activation": a, "when": w, **{f"{stat}_{i}": v for stat in ("mean", "std")
                                                          for i, v in enumerate(values[stat])}}
                          for (a, w), values in profiles[recipe].items()],
                "layers": [{
                    "name": layer,
                    "figure": layer_figure(runs, dataset, recipe, layer, activations),
                    "heatmap": heatmap_figure(runs, dataset, recipe, layer, activations),
                    "stats": [{"activation": a, **{k: (None if any(r[k] is None for r in final[layer][a])
                                                       else float(np.mean([r[k] for r in final[layer][a]])))
                                                   for k in FINAL_STATS}}
                              for a in activations if a in final[layer]],
                } for layer in layer_names],
            })
        sections.append({
            "dataset": dataset, "info": data_info.get(dataset, {}), "accuracy": dataset_accuracy,
            "best": (best["recipe"], best["activation"]) if best else None,
            "summary": summary_sentences(dataset, dataset_accuracy, profiles, layer_names),
            "curves": learning_curves_figure(runs, dataset, dataset_recipes, activations),
            "recipes": recipe_sections,
        })

    first_stats = next(iter(runs.values()))["stats"]
    edges = first_stats["layers"][layer_names[0]]["histogram"]["edges"]
    from actviz.recipes import RECIPES

    context = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": sections,
        "layer_names": layer_names,
        "recipes": {r: RECIPES[r].description if r in RECIPES else "" for r in recipes},
        "activations": activations,
        "probe_images": first_stats["probe_images"],
        "histogram_range": (edges[0], edges[-1]),
        "runs": [{"dataset": d, "recipe": r, "activation": a, "seed": s, **{k: run["metrics"].get(k) for k in (
            "final_step", "diverged_at_step", "test_accuracy", "train_loss", "train_seconds",
            "images_per_second")}}
                 for (d, r, a, s), run in sorted(runs.items())],
        "config": config,
        "config_json": json.dumps(config, indent=2, sort_keys=True),
        "config_hash": config_hash(config),
        "versions": package_versions(),
        "data": [{"name": name, "description": info.get("description"), "license": info.get("license"),
                  "train": info["train_size"], "test": info["test_size"], "checksums": info["checksums"]}
                 for name, info in data_info.items()],
    }
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    environment.globals["zip"] = zip
    html = environment.get_template("report.html.j2").render(**context)

    tables_dir = Path(tables_dir)
    write_csv(tables_dir / "accuracy.csv", accuracy, ["dataset", "recipe", "activation", "seeds", "steps",
                                                       "test_accuracy_mean", "test_accuracy_std",
                                                       "test_accuracy_per_seed", "diverged"])
    write_csv(tables_dir / "layer_stats.csv", layers, list(layers[0]))
    training_rows = [row for run in runs.values() for row in run["training_stats"]]
    write_csv(tables_dir / "training_stats.csv", training_rows, list(training_rows[0]))
    curves = curve_rows(runs)
    write_csv(tables_dir / "learning_curves.csv", curves, list(curves[0]))
    write_json(tables_dir / "report.json", {
        "accuracy": accuracy, "layers": layers, "runs": context["runs"], "config": config,
        "config_hash": context["config_hash"], "versions": context["versions"], "data": context["data"],
        "summary": {s["dataset"]: s["summary"] for s in sections},
        "depth_profiles": {f"{s['dataset']}/{r['recipe']}": r["depth"] for s in sections for r in s["recipes"]},
        "histograms": {"/".join(map(str, key)) + f"/{layer}": stats["histogram"]
                       for key, run in sorted(runs.items()) for layer, stats in run["stats"]["layers"].items()},
    })
    write_text(out_html, html)
    return context
