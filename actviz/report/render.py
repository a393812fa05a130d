"""The report itself: numbers and figures per dataset and recipe into the Jinja2 template (one
self-contained HTML file), and every number into the tables the workflow names."""

import datetime
import json
from dataclasses import dataclass, field

import numpy as np

from actviz.activations import activation_parameter
from actviz.architectures import ARCHITECTURES
from actviz.atomic import write_csv, write_json, write_text
from actviz.errors import UserError, load_json
from actviz.formats import read_info
from actviz.looks import planned_looks
from actviz.plots import MAX_MAPS
from actviz.report import (
    accuracy_tables,
    across_tables,
    agreement_section,
    axes,
    figures,
    layer_tables,
    layer_words,
    numbers,
    signal_tables,
    similarity_tables,
    spread,
    sweep_tables,
    verdict_words,
)
from actviz.report.workers import SERIAL, Workers
from actviz.runs import package_versions

REPORT_PACKAGES = ("numpy", "scipy", "h5py", "matplotlib", "Jinja2")  # what the report process computes with


def _described(help):
    return field(metadata={"help": help})


@dataclass(frozen=True)
class ReportInputs:
    """Every run's files (lists of paths, any order) and the datasets' HDF5 files."""

    stats: list = _described("every run's layer statistics after training (extraction's JSON)")
    activations: list = _described("every run's activations HDF5")
    datasets: list = _described("the datasets' HDF5 files")
    # With a sweep these are the final runs trained after the selection: none when every one is a selected trial.
    metrics: list = field(default_factory=list, metadata={
        "help": "every run's metrics JSON (with a sweep: the final runs no trial is)", "optional": True})
    training_stats: list = field(default_factory=list, metadata={
        "help": "every run's layer statistics over training (training_stats.csv), as --metrics", "optional": True})
    selections: list = field(default_factory=list, metadata={
        "help": "with a sweep: every activation's selection (select_trial.py's JSON)", "optional": True})
    trials: list = field(default_factory=list, metadata={
        "help": "with a sweep: every trial's metrics JSON, at every sweep seed (at the first rung with sweep_rungs)",
        "optional": True})
    trial_stats: list = field(default_factory=list, metadata={
        "help": "with a sweep: every trial's layer statistics over training (training_stats.csv)", "optional": True})
    extended_trials: list = field(default_factory=list, metadata={
        "help": "with sweep_rungs: the metrics JSON of the trials extended to later rungs", "optional": True})
    extended_trial_stats: list = field(default_factory=list, metadata={
        "help": "with sweep_rungs: their training_stats.csv", "optional": True})
    decisions: list = field(default_factory=list, metadata={
        "help": "with max_seeds: every setup's decision at every planned look (decide.py's JSON; the report reads each "
                "setup's last)", "optional": True})
    predictions: list = field(default_factory=list, metadata={
        "help": "every run's predictions.h5, beside its metrics JSON (churn and calibration; runs without are not "
                "compared on them)", "optional": True})
    crossed: list = field(default_factory=list, metadata={
        "help": "with seed_design crossed: the metrics JSON of every run with a batch order seed of its own",
        "optional": True})
    crossed_predictions: list = field(default_factory=list, metadata={
        "help": "with seed_design crossed: their predictions.h5, each beside its metrics JSON", "optional": True})


@dataclass(frozen=True)
class ReportOutputs:
    """Where the report and each of its tables go (a new table: a field here and the rule's output)."""

    html: str = _described("the report")
    accuracy_csv: str = _described("test accuracy per dataset, recipe and activation, with 95% intervals")
    comparisons_csv: str = _described("every two activations' difference on each axis (accuracy, churn, calibration), "
                                      "its interval, test and decision")
    per_class_csv: str = _described("each class's test accuracy per activation")
    confusion_csv: str = _described("each activation's confusion matrix, mean over seeds")
    layer_stats_csv: str = _described("every run's layer statistics after training")
    training_stats_csv: str = _described("every run's layer statistics over training")
    curves_csv: str = _described("every run's learning curves")
    numbers_json: str = _described("every number of the report, with the summary")
    trials_csv: str = field(default=None, metadata={
        "help": "a sweep's trials: one row per trial and seed, every swept setting, its validation result"})
    selected_csv: str = field(default=None, metadata={
        "help": "a sweep's selection: one row per activation, its selected setting and validation accuracy"})
    signal_csv: str = field(default=None, metadata={
        "help": "how signals travel through depth: per activation its initialisation's mean-field phase, chi1, xi_c "
                "and the measured correlation against the predicted"})
    across_csv: str = field(default=None, metadata={
        "help": "with two or more datasets: each two activations' probability of improvement across them, with its "
                "stratified bootstrap interval, and their mean ranks"})
    agreement_csv: str = field(default=None, metadata={
        "help": "per activation: churn between seeds, its excess over what the accuracies force, the prediction "
                "difference and the calibration error, with 95% intervals"})
    seed_pairs_csv: str = field(default=None, metadata={
        "help": "every two seeds of each activation: churn, the least churn their accuracies force, the prediction "
                "difference"})
    reliability_csv: str = field(default=None, metadata={
        "help": "each activation's reliability diagram: per confidence bin its images, confidence and accuracy"})
    similarity_layers_csv: str = field(default=None, metadata={
        "help": "per layer and activation: the CKA between two of its seeds (the seed baseline) with its interval, "
                "and whether CKA is unreliable there"})
    similarity_pairs_csv: str = field(default=None, metadata={
        "help": "per layer and pair of activations: the cross CKA, the seed baselines, the permutation test"})
    churn_sources_csv: str = field(default=None, metadata={
        "help": "with seed_design crossed: churn of runs that share the initialisation, the batch order, or neither"})
    spread_csv: str = field(default=None, metadata={
        "help": "with seed_design crossed: each activation's test accuracy spread split into initialisation, batch "
                "order, their interaction and the test images, with 95% intervals"})


@dataclass
class Evidence:
    """What every section draws on: the runs and every number computed across them."""

    runs: dict
    layer_names: dict  # {architecture: recorded layers, input to output}
    accuracy: list
    comparisons: list
    layers: list
    ranges: dict  # {(dataset, architecture): {layer: (low, high)}}
    histograms: dict  # {(dataset, architecture): layer_tables.run_histograms}
    sweep: dict = field(default_factory=lambda: {"trials": [], "selected": [], "keys": []})  # sweep_tables.sweep_rows
    decisions: dict = field(default_factory=dict)  # {setup: the last look's decision} with max_seeds
    spread: list = field(default_factory=list)  # spread.spread_rows, with seed_design crossed
    crossed_predictions: list = field(default_factory=list)  # [(metrics, predictions)] of the crossed cells
    similarity: dict = field(default_factory=dict)  # {setup: similarity_tables.similarity_numbers}


OPEN_LAYERS = 8  # up to this many layers every layer's section is open; beyond, the first, middle and last


def shown_layers(layers):
    """The layers whose sections are open (the rest are one click away)."""
    if len(layers) <= OPEN_LAYERS:
        return set(layers)
    return {layers[0], layers[(len(layers) - 1) // 2], layers[-2], layers[-1]}


def setup_section(ev, setup, classes, activations, profiles, workers):
    """One setup (dataset, architecture, recipe): per-class accuracy, depth profile, every layer's figures
    and table. The figures are drawn by ``workers`` (Futures until ``workers.resolve``); a figure with
    nothing finite to draw is None, and ``missing`` says which activations have no finished run."""
    draw = workers.submit
    dataset, architecture, _ = setup
    layers = ev.layer_names[architecture]
    per_class = accuracy_tables.per_class_rows(ev.runs, setup, activations, classes)
    rows = list(dict.fromkeys(r["activation"] for r in per_class))
    histograms, shown = ev.histograms[dataset, architecture], shown_layers(layers)
    drawn = {(a, w) for (a, w), p in profiles.items() if numbers.finite_values(p["mean"] + p["std"])}
    sensitivity = sweep_tables.sensitivity(ev.sweep["trials"], setup, ev.sweep["keys"], activations)
    signal_rows = signal_tables.signal_rows(ev.runs, setup, activations, layers, profiles)
    return {
        "name": numbers.label(setup), "architecture": architecture, "recipe": setup[2], "layer_names": layers,
        "missing": numbers.without_finite_run(ev.runs, setup, activations),
        "finished": any(numbers.seeds_of(ev.runs, setup, a) for a in activations),
        "per_class_figure": draw(figures.per_class_figure, rows, classes, np.reshape(
            [r["accuracy_mean"] for r in per_class], (len(rows), len(classes)))) if per_class else None,
        "depth_figure": draw(figures.depth_figure, layers, profiles) if drawn else None,
        "sensitivity_figure": draw(figures.sensitivity_figure, sensitivity) if any(sensitivity.values()) else None,
        "signal_figure": draw(figures.signal_figure, layers, profiles) if any(
            numbers.finite_values(p["corr"]) for p in profiles.values()) else None,
        "signal": signal_rows,
        "signal_sentences": layer_words.signal_sentences(numbers.label(setup), signal_rows),
        "rungs": next((r["rungs"] for r in ev.sweep["selected"] if accuracy_tables.setup_of(r) == setup
                       and len(r["rungs"]) > 1), None),
        "gradient_figure": draw(figures.gradient_figure, layers, profiles) if any(
            numbers.finite_values(p["grad_output_std"]) for p in profiles.values()) else None,
        "depth": layer_tables.depth_rows(profiles, layers),
        "layers": [_layer_part(ev, setup, layer, activations, histograms, layer in shown, draw) for layer in layers],
        "agreement": agreement_section.agreement_part(ev, setup, activations, draw),
        "similarity": agreement_section.similarity_part(ev, setup, activations, layers, draw),
    }


def _layer_part(ev, setup, layer, activations, histograms, shown, draw):
    """One layer of a setup: its figures (None with nothing finite to draw), its table, its non-finite runs."""
    dataset, architecture, _ = setup
    edges, counts, examples, image = layer_tables.final_histograms(ev.runs, histograms, setup, layer, activations)
    bands = layer_tables.percentiles_over_training(ev.runs, setup, layer, activations)
    return {
        "name": layer, "open": shown, "range": ev.ranges[dataset, architecture][layer],
        "figure": draw(figures.layer_figure, edges, counts, examples, image) if examples else None,
        "bands": draw(figures.percentile_figure, bands) if any(
            numbers.finite_values(v for p in series.values() for v in p) for _, series in bands.values()) else None,
        "stats": layer_tables.final_layer_table(ev.runs, ev.layers, setup, layer, activations),
        "nonfinite": layer_tables.nonfinite_runs(ev.layers, setup, layer),
    }


def dataset_section(ev, dataset, info, architectures, recipes, activations, workers):
    """One dataset: summary, accuracy with intervals, comparisons, learning curves, a section per setup."""
    setups = numbers.setups_of(ev.runs, dataset, architectures, recipes)
    profiles = {setup: layer_tables.depth_profiles(ev.runs, setup, activations, ev.layer_names[setup[1]])
                for setup in setups}
    verdicts = {setup: accuracy_tables.verdict(ev.accuracy, ev.comparisons, setup) for setup in setups}
    depth = {architecture: (ev.layer_names[architecture], {numbers.label(s): profiles[s] for s in setups
                                                           if s[1] == architecture})
             for architecture in dict.fromkeys(s[1] for s in setups)}
    classes = info.get("classes") or [str(c) for c in range(info.get("num_classes", 0))]
    left = numbers.left_out(ev.runs, dataset)
    missing = {numbers.label(s): numbers.without_finite_run(ev.runs, s, activations) for s in setups}
    named = {numbers.label(s): v for s, v in verdicts.items()}
    curves = numbers.learning_curves(ev.runs, setups, activations)
    selected = [r for r in ev.sweep["selected"] if r["dataset"] == dataset]
    validation_images = sorted({run["metrics"]["validation_size"] for key, run in ev.runs.items()
                                if key[0] == dataset and run["metrics"].get("validation_size")})
    shared = {} if selected else {numbers.label(s): next(run["metrics"].get("settings") for key, run in ev.runs.items()
                                                         if key[:3] == s) for s in setups}
    parts = [setup_section(ev, setup, classes, activations, profiles[setup], workers) for setup in setups]
    parameters = {key[3]: activation_parameter(key[3], run["metrics"].get("settings", {}))
                  for key, run in ev.runs.items() if key[0] == dataset}
    phases = {a: (parameters[a], points) for a, points in signal_tables.phase_points(
        [r for part in parts for r in part["signal"]]).items()}
    return {
        "dataset": dataset, "info": info, "accuracy": [r for r in ev.accuracy if r["dataset"] == dataset],
        "left_out": left,
        "selected": selected,
        "sweep_keys": ev.sweep["keys"],
        "validation_images": validation_images,
        "comparisons": {numbers.label(setup): [{**c, "words": verdict_words.decision_words(c)} for c in ev.comparisons
                                               if accuracy_tables.setup_of(c) == setup and c["axis"] == "accuracy"]
                        for setup in setups},
        "winners": [(s[1], s[2], v["winner"]["activation"]) for s, v in verdicts.items() if v and v["winner"]],
        "verdicts": verdict_words.verdict_sentences(dataset, named, missing, selected, validation_images, shared),
        "verdict_tables": [verdict_words.verdict_table(v, numbers.label(s), verdict_words.setting_words(
            shared.get(numbers.label(s)), [r for r in selected if r["architecture"] == s[1] and r["recipe"] == s[2]]),
            ev.decisions.get(s)) for s, v in verdicts.items() if v and len(v["ranked"]) > 1],
        "layer_sentences": layer_words.layer_sentences(depth),
        "spread": [r for r in ev.spread if r["dataset"] == dataset],
        "spread_sentences": list(filter(None, (spread.spread_sentence(
            [r for r in ev.spread if accuracy_tables.setup_of(r) == s], numbers.label(s)) for s in setups))),
        "summary": verdict_words.summary_sentences(dataset, named, depth, left, missing, selected, validation_images,
                                              shared),
        "curves": workers.submit(figures.learning_curves_figure, curves) if any(curves.values()) else None,
        "parts": parts,
        "phase_figure": workers.submit(figures.phase_figure, phases) if phases else None,
    }


def gather(runs, settings, datasets, architectures, recipes, activations, workers=SERIAL, planned=()):
    """Every number across the runs: accuracy, comparisons (decided as ``settings`` say, over the looks
    ``planned``: ``actviz.looks.planned_looks``), histogram ranges and histograms, layers (the runs' activations read by
    ``workers``)."""
    layer_names = {a: layer_tables.layer_order(runs, a) for a in architectures if any(k[1] == a for k in runs)}
    pairs = [(d, a) for d in datasets for a in layer_names if any(k[:2] == (d, a) for k in runs)]
    ranges = {(d, a): layer_tables.histogram_ranges(runs, d, a, layer_names[a], settings.histogram_range, workers)
              for d, a in pairs}
    histograms, similar = {}, {}
    for d, a in pairs:  # each dataset and architecture's CKA representations reduced to its numbers, then dropped
        histograms[d, a], found = layer_tables.run_histograms(
            runs, d, a, layer_names[a], ranges[d, a], settings.histogram_bins, workers, with_representations=True)
        for recipe in dict.fromkeys(key[0] for key in found):
            similar[d, a, recipe] = similarity_tables.similarity_numbers(
                {key[1:]: value for key, value in found.items() if key[0] == recipe}, layer_names[a])
        del found
    setups = [s for d in datasets for s in numbers.setups_of(runs, d, architectures, recipes)]
    accuracy = accuracy_tables.accuracy_rows(runs, setups, activations)
    design = accuracy_tables.design_of(settings, planned)
    comparisons = [c for setup in setups for axis in axes.AXES.values() if axes.measured(runs, setup, axis)
                   for c in accuracy_tables.comparison_rows(runs, accuracy, setup, design, axis)]
    return Evidence(runs, layer_names, accuracy, comparisons, layer_tables.layer_rows(runs, layer_names, histograms),
                    ranges, histograms, similarity=similar)


def render_report(inputs, settings, config, outputs, processes=1):
    """Write the self-contained HTML report and the CSV/JSON of every number in it; return the context.

    ``settings`` (``actviz.settings.ReportSettings``) says how to draw the histograms; ``config`` is
    shown as it is. ``processes``: how many processes read the runs' activations and draw the figures
    (the report is the same for any number).
    """
    with Workers(processes) as workers:
        return _render(inputs, settings, config, outputs, workers)


def _render(inputs, settings, config, outputs, workers):
    import jinja2

    from actviz.recipes import RECIPES

    trials = sweep_tables.reached_trials([*inputs.trials, *inputs.extended_trials])
    selections = [load_json(p) for p in inputs.selections]
    metrics, training_stats = sweep_tables.final_run_files(inputs, trials, selections, config.get("seeds"))
    runs = numbers.load_runs(metrics, inputs.stats, inputs.activations, training_stats, inputs.predictions)
    sweep = sweep_tables.sweep_rows(list(trials.values()), selections)
    if not runs:
        raise UserError("no runs to report")
    datasets, architectures, recipes, activations = (
        numbers.ordered({k[i] for k in runs}, config.get(key, []))
        for i, key in enumerate(("datasets", "architectures", "recipes", "activations")))
    data_info = {info["name"]: info for info in map(read_info, inputs.datasets)}
    planned = planned_looks(config.get("seeds", []), settings.max_seeds,
                            config.get("sweep_seeds", []) if config.get("sweep") else ())
    ev = gather(runs, settings, datasets, architectures, recipes, activations, workers,
                tuple(map(tuple, planned)) if config.get("seeds") else ())
    ev.sweep = sweep
    for decision in sorted(map(load_json, inputs.decisions), key=lambda d: d["look"]):  # each setup's last look
        ev.decisions[accuracy_tables.setup_of(decision["setup"])] = decision
    setups = [s for d in datasets for s in numbers.setups_of(runs, d, architectures, recipes)]
    crossed = [load_json(p) for p in inputs.crossed]
    ev.spread = spread.spread_rows(runs, crossed, setups, activations)
    ev.crossed_predictions = agreement_section.crossed_predictions(inputs.crossed, crossed, inputs.crossed_predictions)
    context = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": [dataset_section(ev, dataset, data_info.get(dataset, {}), architectures, recipes, activations,
                                     workers) for dataset in datasets],
        "architectures": {a: ARCHITECTURES.get(a.rstrip("0123456789"), "") for a in architectures},
        "recipes": {r: RECIPES[r].description if r in RECIPES else "" for r in recipes},
        "activations": activations,
        "across": across_tables.across_rows(runs, datasets, architectures, recipes, activations),
        "probe_images": next(iter(runs.values()))["stats"]["probe_images"],
        "max_maps": MAX_MAPS,
        "histogram_range": settings.histogram_range,
        "near": {"mean": layer_words.NEAR_MEAN, "variance": layer_words.NEAR_VARIANCE},
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
    context = workers.resolve(context)  # the figures, drawn meanwhile
    environment = jinja2.Environment(loader=jinja2.PackageLoader("actviz", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.globals["zip"] = zip
    environment.filters.update(number=numbers.number_text, percent=_percent, finite=numbers.finite)
    html = environment.get_template("report.html.j2").render(**context)
    write_tables(ev, data_info, setups, activations, context, outputs)
    write_text(outputs.html, html)
    return context


def _percent(value, style):
    return numbers.number_text(None if value is None else 100 * value, style)


def write_tables(ev, data_info, setups, activations, context, outputs):
    """Every number of the report as CSV tables and one JSON file."""
    classes = {d: data_info.get(d, {}).get("classes") or [] for d in {s[0] for s in setups}}
    per_class = [r for s in setups for r in accuracy_tables.per_class_rows(ev.runs, s, activations, classes[s[0]])]
    confusion = [r for s in setups for r in accuracy_tables.confusion_rows(ev.runs, s, activations, classes[s[0]])]
    tables = ((outputs.accuracy_csv, ev.accuracy), (outputs.comparisons_csv, ev.comparisons),
              (outputs.per_class_csv, per_class), (outputs.confusion_csv, confusion),
              (outputs.layer_stats_csv, ev.layers),
              (outputs.training_stats_csv, [row for run in ev.runs.values() for row in run["training_stats"]]),
              (outputs.curves_csv, numbers.curve_rows(ev.runs)))
    empty = {outputs.comparisons_csv: accuracy_tables.COMPARISON_COLUMNS,  # the tables left empty when every run
             outputs.per_class_csv: accuracy_tables.PER_CLASS_COLUMNS,  # diverged keep their headers
             outputs.confusion_csv: accuracy_tables.CONFUSION_COLUMNS}
    for path, rows in tables:
        write_csv(path, rows, list(dict.fromkeys(key for row in rows for key in row)) or list(empty[path]))
    signal = [r for section in context["sections"] for part in section["parts"] for r in part["signal"]]
    if outputs.signal_csv is not None:
        write_csv(outputs.signal_csv, signal, signal_tables.SIGNAL_TABLE)
    if outputs.across_csv is not None:
        write_csv(outputs.across_csv, [p for block in context["across"] for p in block["pairs"]],
                  across_tables.ACROSS_COLUMNS)
    if outputs.spread_csv is not None:
        write_csv(outputs.spread_csv, ev.spread, spread.SPREAD_COLUMNS)
    parts = [part for section in context["sections"] for part in section["parts"]]
    new_sections = agreement_section.write_tables(parts, outputs)
    for path, rows, columns in ((outputs.trials_csv, ev.sweep["trials"], sweep_tables.TRIAL_COLUMNS),
                                (outputs.selected_csv, ev.sweep["selected"], sweep_tables.SELECTED_COLUMNS)):
        if path is not None:
            keys = sweep_tables.SELECTION_KEYS
            write_csv(path, rows, [*keys, *ev.sweep["keys"], *columns[len(keys):]])
    sections = context["sections"]
    write_json(outputs.numbers_json, strict=True, obj={
        "accuracy": ev.accuracy, "comparisons": ev.comparisons, "per_class": per_class, "confusion": confusion,
        "layers": ev.layers, "runs": context["runs"], "config": context["config"],
        "config_hash": context["config_hash"], "run_versions": context["run_versions"],
        "report_versions": context["report_versions"], "data": context["data"],
        "summary": {s["dataset"]: s["summary"] for s in sections},
        "verdicts": {s["dataset"]: s["verdicts"] for s in sections},
        "verdict_tables": {s["dataset"]: s["verdict_tables"] for s in sections},
        "trials": ev.sweep["trials"], "selected": ev.sweep["selected"], "signal": signal, "spread": ev.spread,
        **new_sections,
        "across": context["across"],
        "left_out": {s["dataset"]: s["left_out"] for s in sections},
        "histogram_ranges": {f"{d}/{a}/{layer}": list(r) for (d, a), ranges in ev.ranges.items()
                             for layer, r in ranges.items()},
        "depth_profiles": {f"{s['dataset']}/{p['name']}": p["depth"] for s in sections for p in s["parts"]},
        "histograms": {f"{d}/{a}/{recipe}/{activation}/{seed}/{layer}": h for (d, a), runs in ev.histograms.items()
                       for (recipe, activation, seed, layer), h in runs.items()},
    })
