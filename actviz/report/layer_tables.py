"""The report's numbers about layers: each run's final statistics per layer, the histograms on one range per layer,
percentiles over training, and depth profiles (measured, predicted, gradients, signal). Plain data in, plain data
out (numpy, no plotting); ``runs`` as ``actviz.report.numbers.load_runs`` returns them."""

import h5py
import numpy as np

from actviz.report.numbers import diverged_at, mean_over_seeds, seeds_of
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

def nonfinite_runs(layers, setup, layer):
    """The finite runs of a setup whose extracted ``layer`` holds NaN or infinite values: [(activation, seed,
    share of its values)], from ``layer_rows``."""
    return [(r["activation"], r["seed"], r["nonfinite_fraction"]) for r in layers
            if (r["dataset"], r["architecture"], r["recipe"], r["layer"]) == (*setup, layer)
            and r["diverged_at_step"] is None and r["nonfinite_fraction"]]


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


def run_histograms(runs, dataset, architecture, layers, ranges, bins, workers=SERIAL, with_representations=False):
    """{(recipe, activation, seed, layer): histogram} of every finite run of an architecture on
    ``dataset`` after training, over the layer's shared range: edges, counts, and the values below
    and above it. ``workers`` reads the runs' files in parallel. ``with_representations``: also, from the same
    read, {(recipe, activation, seed): {layer: (CKA representation, dominance)}} (``actviz.similarity``) of the
    first ``similarity_tables.CKA_IMAGES`` probe images, returned second."""
    chosen = [(key, run) for key, run in sorted(runs.items())
              if key[:2] == (dataset, architecture) and diverged_at(run) is None]
    per_run = workers.map(_run_histograms, [(run["activations"], layers, ranges, bins, with_representations)
                                            for _, run in chosen])
    histograms = {(recipe, activation, seed, layer): histogram
                  for ((_, _, recipe, activation, seed), _), (histograms, _) in zip(chosen, per_run)
                  for layer, histogram in histograms.items()}
    if not with_representations:
        return histograms
    return histograms, {key[2:]: found for (key, _), (_, found) in zip(chosen, per_run)}


def _run_histograms(task):
    """(In a worker.) ({layer: histogram over its range}, {layer: (CKA representation, dominance)} or None) of one
    run's activations file, read once."""
    from actviz.report.similarity_tables import layer_representation

    path, layers, ranges, bins, with_representations = task
    histograms, found = {}, {} if with_representations else None
    with h5py.File(path, "r") as f:
        for layer in layers:
            values = f["activations"][layer][:]
            if with_representations:
                found[layer] = layer_representation(values)
            finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
            counts = histogram_counts(finite, ranges[layer], bins)
            histograms[layer] = {"edges": np.linspace(*ranges[layer], bins + 1).tolist(),
                                 "counts": counts["counts"].tolist(), "below": counts["below"],
                                 "above": counts["above"], "nonfinite": int(values.size - finite.size)}
    return histograms, found


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
