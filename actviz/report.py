"""The HTML report: accuracy per dataset x activation and every layer's activations side by side."""

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

from actviz.atomic import atomic_path, write_json, write_text
from actviz.data import read_info
from actviz.errors import UserError
from actviz.plots import draw_grid, draw_histogram, figure_to_png_base64, new_figure

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
PACKAGES = ("tensorflow", "keras", "tensorboard", "tensorflow-plot", "numpy", "h5py", "matplotlib",
            "snakemake", "Jinja2")


def _load_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None


def _key(record):
    return record["dataset"], record["activation"], int(record["seed"])


def load_runs(metrics_paths, stats_paths, activation_paths):
    """Join each run's metrics, statistics and activations file by (dataset, activation, seed)."""
    runs = {}
    for path in metrics_paths:
        metrics = _load_json(path)
        runs[_key(metrics)] = {"metrics": metrics}
    for path in stats_paths:
        stats = _load_json(path)
        if _key(stats) not in runs:
            raise UserError(f"{path}: statistics of a run without metrics {_key(stats)}")
        runs[_key(stats)]["stats"] = stats
    for path in activation_paths:
        with h5py.File(path, "r") as f:
            key = (f.attrs["dataset"], f.attrs["activation"], int(f.attrs["seed"]))
        if key not in runs:
            raise UserError(f"{path}: activations of a run without metrics {key}")
        runs[key]["activations"] = str(path)
    for key, run in runs.items():
        missing = {"stats", "activations"} - set(run)
        if missing:
            raise UserError(f"run {key} lacks its {' and '.join(sorted(missing))}")
    return runs


def _ordered(values, preferred):
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def accuracy_rows(runs, datasets, activations):
    """One row per (dataset, activation): mean and std of test accuracy over seeds, and each seed's."""
    rows = []
    for dataset in datasets:
        for activation in activations:
            seeds = sorted(s for d, a, s in runs if d == dataset and a == activation)
            if not seeds:
                continue
            values = np.array([runs[dataset, activation, s]["metrics"]["test_accuracy"] for s in seeds])
            rows.append({"dataset": dataset, "activation": activation, "seeds": seeds,
                         "test_accuracy_mean": float(values.mean()),
                         "test_accuracy_std": float(values.std()),
                         "test_accuracy_per_seed": [float(v) for v in values],
                         "steps": runs[dataset, activation, seeds[0]]["metrics"]["final_step"]})
    return rows


def layer_rows(runs):
    """One row per (dataset, activation, seed, layer) with the layer's statistics."""
    rows = []
    for (dataset, activation, seed), run in sorted(runs.items()):
        for layer, stats in run["stats"]["layers"].items():
            rows.append({"dataset": dataset, "activation": activation, "seed": seed, "layer": layer,
                         "mean": stats["mean"], "std": stats["std"], "min": stats["min"],
                         "max": stats["max"], "zero_fraction": stats["zero_fraction"],
                         "outside_range_fraction": (stats["histogram"]["below"]
                                                    + stats["histogram"]["above"]) / stats["count"]})
    return rows


def _first_example(path, layer):
    with h5py.File(path, "r") as f:
        return f["activations"][layer][0]


def layer_figure(dataset, layer, runs, activations):
    """Histograms (top) and one example's activation grid (bottom) of every activation, shared axes."""
    columns = [(a, sorted(s for d, act, s in runs if d == dataset and act == a)) for a in activations]
    columns = [(a, seeds) for a, seeds in columns if seeds]
    examples = [_first_example(runs[dataset, a, seeds[0]]["activations"], layer) for a, seeds in columns]
    vmin = min(float(e.min()) for e in examples)
    vmax = max(float(e.max()) for e in examples)
    fig = new_figure(3.2 * len(columns), 5.4)
    axes = fig.subplots(2, len(columns), squeeze=False, sharex="row", sharey="row")
    for column, ((activation, seeds), example) in enumerate(zip(columns, examples)):
        histograms = [runs[dataset, activation, s]["stats"]["layers"][layer]["histogram"] for s in seeds]
        counts = np.sum([h["counts"] for h in histograms], axis=0)
        draw_histogram(axes[0, column], counts, histograms[0]["edges"])
        axes[0, column].set_title(activation)
        image = draw_grid(axes[1, column], example, vmin, vmax, colorbar=False)
        if column:
            axes[0, column].set_ylabel("")
    fig.colorbar(image, ax=axes[1, :].tolist(), shrink=0.9, label="activation value")
    return figure_to_png_base64(fig)


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


def _write_csv(path, rows, columns):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (";".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()})


def render_report(metrics_paths, stats_paths, activation_paths, dataset_paths, config, out_html,
                  tables_dir):
    """Write the self-contained HTML report and the CSV/JSON of every number in it."""
    import jinja2

    runs = load_runs(metrics_paths, stats_paths, activation_paths)
    if not runs:
        raise UserError("no runs to report")
    datasets = _ordered({d for d, _, _ in runs}, config.get("datasets", []))
    activations = _ordered({a for _, a, _ in runs}, config.get("activations", []))
    data_info = {info["name"]: info for info in map(read_info, dataset_paths)}
    accuracy = accuracy_rows(runs, datasets, activations)
    layers = layer_rows(runs)
    layer_names = list(next(iter(runs.values()))["stats"]["layers"])

    sections = []
    for dataset in datasets:
        stats_by = defaultdict(dict)
        for row in layers:
            if row["dataset"] == dataset:
                stats_by[row["layer"]].setdefault(row["activation"], []).append(row)
        sections.append({
            "dataset": dataset,
            "info": data_info.get(dataset, {}),
            "accuracy": [r for r in accuracy if r["dataset"] == dataset],
            "best": max((r for r in accuracy if r["dataset"] == dataset),
                        key=lambda r: r["test_accuracy_mean"])["activation"],
            "layers": [{
                "name": layer,
                "figure": layer_figure(dataset, layer, runs, activations),
                "stats": [{"activation": a,
                           "mean": float(np.mean([r["mean"] for r in stats_by[layer][a]])),
                           "std": float(np.mean([r["std"] for r in stats_by[layer][a]])),
                           "zero_fraction": float(np.mean([r["zero_fraction"] for r in stats_by[layer][a]])),
                           "outside": float(np.mean([r["outside_range_fraction"] for r in stats_by[layer][a]]))}
                          for a in activations if a in stats_by[layer]],
            } for layer in layer_names],
        })

    first_stats = next(iter(runs.values()))["stats"]
    edges = first_stats["layers"][layer_names[0]]["histogram"]["edges"]
    context = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": sections,
        "activations": activations,
        "probe_images": first_stats["probe_images"],
        "histogram_range": (edges[0], edges[-1]),
        "runs": [{"dataset": d, "activation": a, "seed": s, **{k: run["metrics"].get(k) for k in (
            "final_step", "test_accuracy", "train_loss", "train_seconds", "images_per_second")}}
                 for (d, a, s), run in sorted(runs.items())],
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
    html = environment.get_template("report.html.j2").render(**context)
    write_text(out_html, html)

    tables_dir = Path(tables_dir)
    _write_csv(tables_dir / "accuracy.csv", accuracy, ["dataset", "activation", "seeds", "steps",
                                                       "test_accuracy_mean", "test_accuracy_std",
                                                       "test_accuracy_per_seed"])
    _write_csv(tables_dir / "layer_stats.csv", layers, list(layers[0]))
    write_json(tables_dir / "report.json", {
        "accuracy": accuracy, "layers": layers, "runs": context["runs"], "config": config,
        "config_hash": context["config_hash"], "versions": context["versions"], "data": context["data"],
        "histograms": {f"{d}/{a}/seed{s}/{layer}": stats["histogram"]
                       for (d, a, s), run in sorted(runs.items())
                       for layer, stats in run["stats"]["layers"].items()},
    })
    return context
