"""The report's numbers about where the spread comes from (seed_design crossed): each activation's table of test
accuracies over initialisation seeds x batch-order seeds, with every run's per-image results, split into its sources
(``actviz.variance``), as spread.csv's rows. The diagonal of the table is the joint runs the verdicts compare; the
cells off it (a batch order of their own) are read here alone. Plain data."""

import math

import numpy as np

from actviz.report.accuracy_tables import final_correct
from actviz.report.numbers import finite
from actviz.variance import SOURCES, variance_split

# With so few seeds a source's estimate is noisy: how often the largest is named right, measured on synthetic tables
# where it is 4 times the next (tests/test_variance.py)
NAMED_RIGHT = {2: "less often than at 3 x 3", 3: "about 3 times in 4", 4: "about 5 times in 6",
               5: "9 times in 10 or more"}
SPREAD_COLUMNS = ("dataset", "architecture", "recipe", "activation", "seeds", "cells", "accuracy_mean", "method",
                  *(f"{kind}_{source.replace(' ', '_')}" for source in SOURCES
                    for kind in ("std", "std_low", "std_high", "share")))


def _column(source):
    return source.replace(" ", "_")


def crossed_cells(runs, crossed, setup, activation):
    """{(initialisation seed, batch-order seed): the run's metrics, None when diverged} of an activation in a setup:
    the joint runs (the diagonal) at the seeds the crossed runs use, and the ``crossed`` runs' metrics."""
    cells = {}
    for metrics in crossed:
        if (metrics["dataset"], metrics.get("architecture", "cnn"), metrics["recipe"]) == tuple(setup) \
                and metrics["activation"] == activation:
            cells[metrics["seed"], metrics["settings"]["order_seed"]] = _finished(metrics)
    for seed in {s for cell in cells for s in cell}:
        run = runs.get((*setup, activation, seed))
        if run is not None:
            cells[seed, seed] = _finished(run["metrics"])
    return cells


def _finished(metrics):
    return metrics if metrics.get("diverged_at_step") is None and finite(metrics.get("test_accuracy")) else None


def spread_rows(runs, crossed, setups, activations):
    """One row per (setup, activation) with crossed runs: each source's std of the test accuracy (points) with its
    95% interval and its share of their summed variance; a table with a cell missing or diverged has no split and
    says why in ``method``."""
    rows = []
    for setup in setups:
        for activation in activations:
            cells = crossed_cells(runs, crossed, setup, activation)
            if not cells:
                continue
            seeds = sorted({s for cell in cells for s in cell})
            row = {**dict(zip(("dataset", "architecture", "recipe"), setup)), "activation": activation,
                   "seeds": seeds, "cells": len(cells)}
            grid = [[cells.get((i, j)) for j in seeds] for i in seeds]
            done = sum(metrics is not None for line in grid for metrics in line)
            if done < len(seeds) ** 2:
                rows.append({**row, "accuracy_mean": None,
                             "method": f"no split: {done} of {len(seeds) ** 2} cells finished without diverging"})
                continue
            correct = [[final_correct(metrics) for metrics in line] for line in grid]
            if any(c is None for line in correct for c in line):
                rows.append({**row, "accuracy_mean": None, "method": "no split: per-image results not recorded"})
                continue
            table = [[metrics["test_accuracy"] for metrics in line] for line in grid]
            images = len(correct[0][0])
            rows.append({**row, **_split_columns(variance_split(table, np.array(correct))),
                         "accuracy_mean": sum(map(sum, table)) / len(seeds) ** 2,
                         "method": f"crossed {len(seeds)} x {len(seeds)} seeds: two-way random effects (ANOVA), "
                                   f"modified large-sample intervals; the test images from every run's per-image "
                                   f"results, {images} images"})
    return rows


def _split_columns(split):
    total = sum(part.estimate for part in split.values())
    columns = {}
    for source, (estimate, low, high, _) in split.items():
        name = _column(source)
        columns.update({f"std_{name}": 100 * math.sqrt(estimate), f"std_low_{name}": 100 * math.sqrt(low),
                        f"std_high_{name}": 100 * math.sqrt(high),
                        f"share_{name}": estimate / total if total else None})
    return columns


def spread_sentence(rows, name):
    """The first screen's line about a setup's split (``rows``: its spread rows), e.g. "cnn/snn, where one run's
    test accuracy spreads from (crossed 3 x 3 seeds, std in points): relu 0.61, mostly initialisation; ...", or None
    without a split."""
    split = [r for r in rows if r.get("accuracy_mean") is not None]
    if not split:
        return None
    parts = [f"{r['activation']} {_total_std(r):.2f}, largest part: {largest_source(r)}" for r in split]
    size = len(split[0]["seeds"])
    return (f"{name}, where one run's test accuracy spreads from (crossed {size} x {size} seeds, std in points): "
            + "; ".join(parts) + f". With {size} x {size} seeds the largest is named right "
            f"{NAMED_RIGHT[min(size, 5)]} where it is four times the next: read the intervals in the table.")


def _total_std(row):
    return math.sqrt(sum(row[f"std_{_column(s)}"] ** 2 for s in SOURCES))


def largest_source(row):
    """The source with the largest share of a split row, or None without a split."""
    shares = {s: row.get(f"share_{_column(s)}") for s in SOURCES}
    return None if None in shares.values() else max(shares, key=shares.get)
