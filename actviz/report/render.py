"""The report itself: numbers and figures per dataset and recipe into the Jinja2 template (one
self-contained HTML file), and every number into the tables the workflow names."""

import datetime
import json
from dataclasses import dataclass

from actviz.atomic import write_csv, write_json, write_text
from actviz.errors import UserError
from actviz.formats import read_info
from actviz.report import figures, numbers
from actviz.runs import package_versions

REPORT_PACKAGES = ("numpy", "h5py", "matplotlib", "Jinja2")  # what the report process itself computes with


@dataclass(frozen=True)
class ReportInputs:
    """Every run's files (lists of paths, any order) and the datasets' HDF5 files."""

    metrics: list
    stats: list
    activations: list
    training_stats: list
    training_histograms: list
    datasets: list


@dataclass(frozen=True)
class ReportOutputs:
    """Where the report and each of its tables go."""

    html: str
    accuracy_csv: str
    layer_stats_csv: str
    training_stats_csv: str
    curves_csv: str
    numbers_json: str


def recipe_section(runs, layers, dataset, recipe, activations, layer_names, profiles):
    """One recipe of one dataset: depth profile figure and table, and every layer's figures and table."""
    return {
        "recipe": recipe,
        "depth_figure": figures.depth_figure(layer_names, profiles),
        "depth": numbers.depth_rows(profiles),
        "layers": [{
            "name": layer,
            "figure": figures.layer_figure(*numbers.final_histograms(runs, dataset, recipe, layer, activations)),
            "heatmap": figures.heatmap_figure(numbers.histograms_over_training(runs, dataset, recipe, layer,
                                                                               activations)),
            "stats": numbers.final_layer_table(layers, dataset, recipe, layer, activations),
        } for layer in layer_names],
    }


def dataset_section(runs, accuracy, layers, dataset, info, recipes, activations, layer_names):
    """One dataset: summary, accuracy table, learning curves, and a section per recipe it was trained with."""
    dataset_accuracy = [r for r in accuracy if r["dataset"] == dataset]
    dataset_recipes = [r for r in recipes if any(k[:2] == (dataset, r) for k in runs)]
    profiles = {recipe: numbers.depth_profiles(runs, dataset, recipe, activations, layer_names)
                for recipe in dataset_recipes}
    best = numbers.best(dataset_accuracy)
    return {
        "dataset": dataset, "info": info, "accuracy": dataset_accuracy,
        "best": (best["recipe"], best["activation"]) if best else None,
        "summary": numbers.summary_sentences(dataset, dataset_accuracy, profiles, layer_names),
        "curves": figures.learning_curves_figure(numbers.learning_curves(runs, dataset, dataset_recipes,
                                                                         activations)),
        "recipes": [recipe_section(runs, layers, dataset, recipe, activations, layer_names, profiles[recipe])
                    for recipe in dataset_recipes],
    }


def render_report(inputs, config, outputs):
    """Write the self-contained HTML report and the CSV/JSON of every number in it; return the context."""
    import jinja2

    from actviz.recipes import RECIPES

    runs = numbers.load_runs(inputs.metrics, inputs.stats, inputs.activations, inputs.training_stats,
                             inputs.training_histograms)
    if not runs:
        raise UserError("no runs to report")
    datasets = numbers.ordered({k[0] for k in runs}, config.get("datasets", []))
    recipes = numbers.ordered({k[1] for k in runs}, config.get("recipes", []))
    activations = numbers.ordered({k[2] for k in runs}, config.get("activations", []))
    data_info = {info["name"]: info for info in map(read_info, inputs.datasets)}
    accuracy = numbers.accuracy_rows(runs, datasets, recipes, activations)
    layers = numbers.layer_rows(runs)
    first_stats = next(iter(runs.values()))["stats"]
    layer_names = list(first_stats["layers"])
    edges = first_stats["layers"][layer_names[0]]["histogram"]["edges"]
    context = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": [dataset_section(runs, accuracy, layers, dataset, data_info.get(dataset, {}), recipes,
                                     activations, layer_names) for dataset in datasets],
        "layer_names": layer_names,
        "recipes": {r: RECIPES[r].description if r in RECIPES else "" for r in recipes},
        "activations": activations,
        "probe_images": first_stats["probe_images"],
        "histogram_range": (edges[0], edges[-1]),
        "runs": numbers.run_rows(runs),
        "config": config,
        "config_json": json.dumps(config, indent=2, sort_keys=True),
        "config_hash": numbers.config_hash(config),
        "run_versions": numbers.version_table(runs),
        "report_versions": package_versions(REPORT_PACKAGES),
        "data": [{"name": name, "description": info.get("description"), "license": info.get("license"),
                  "train": info["train_size"], "test": info["test_size"], "checksums": info["checksums"]}
                 for name, info in data_info.items()],
    }
    environment = jinja2.Environment(loader=jinja2.PackageLoader("actviz", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.globals["zip"] = zip
    html = environment.get_template("report.html.j2").render(**context)
    write_tables(runs, accuracy, layers, context, outputs)
    write_text(outputs.html, html)
    return context


def write_tables(runs, accuracy, layers, context, outputs):
    """Every number of the report as CSV tables and one JSON file."""
    write_csv(outputs.accuracy_csv, accuracy, ["dataset", "recipe", "activation", "seeds", "steps",
                                               "test_accuracy_mean", "test_accuracy_std", "test_accuracy_per_seed",
                                               "diverged"])
    write_csv(outputs.layer_stats_csv, layers, list(layers[0]))
    training_rows = [row for run in runs.values() for row in run["training_stats"]]
    write_csv(outputs.training_stats_csv, training_rows, list(training_rows[0]))
    curves = numbers.curve_rows(runs)
    write_csv(outputs.curves_csv, curves, list(curves[0]))
    sections = context["sections"]
    write_json(outputs.numbers_json, {
        "accuracy": accuracy, "layers": layers, "runs": context["runs"], "config": context["config"],
        "config_hash": context["config_hash"], "run_versions": context["run_versions"],
        "report_versions": context["report_versions"], "data": context["data"],
        "summary": {s["dataset"]: s["summary"] for s in sections},
        "depth_profiles": {f"{s['dataset']}/{r['recipe']}": r["depth"] for s in sections for r in s["recipes"]},
        "histograms": {"/".join(map(str, key)) + f"/{layer}": stats["histogram"]
                       for key, run in sorted(runs.items()) for layer, stats in run["stats"]["layers"].items()},
    })
