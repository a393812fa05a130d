"""Do two trainings agree, in numbers: per activation its churn between seeds (with the prediction difference and
the churn its accuracies force), its calibration error, the reliability of its confidences, and with a crossed seed
design the churn of runs that share the initialisation or the batch order. The pairs of activations are decided on
churn and calibration by ``accuracy_tables.comparison_rows`` (``axes``). Plain data in, plain data out.

``runs`` as in ``numbers``: a run's ``predictions`` are ``actviz.evaluation.read_predictions``'s.
"""

import itertools

import numpy as np

from actviz import agreement
from actviz.report import uncertainty
from actviz.report.axes import run_predictions
from actviz.report.numbers import seeds_of

SETUP = ("dataset", "architecture", "recipe")
AGREEMENT_COLUMNS = (*SETUP, "activation", "seeds", "seed_pairs", "test_accuracy_mean", "churn", "churn_low",
                     "churn_high", "least_churn", "excess_churn", "excess_low", "excess_high", "prediction_difference",
                     "prediction_difference_low", "prediction_difference_high", "calibration_error",
                     "calibration_low", "calibration_high", "calibration_per_seed")
SEED_PAIR_COLUMNS = (*SETUP, "activation", "seed_a", "seed_b", "churn", "least_churn", "excess_churn",
                     "prediction_difference")
RELIABILITY_COLUMNS = (*SETUP, "activation", "bin_low", "bin_high", "images", "confidence", "accuracy")
CROSSED_CHURN_COLUMNS = (*SETUP, "activation", "shared", "churn", "pairs")


def _predicted_runs(runs, setup, activation):
    """{seed: predictions} of an activation's finished runs that recorded them."""
    found = {s: run_predictions(runs, setup, activation, s) for s in seeds_of(runs, setup, activation)}
    return {s: p for s, p in found.items() if p is not None}


def seed_pair_rows(runs, setup, activations):
    """Every two seeds of each activation: churn, the least churn their accuracies force, the excess, Delta_1."""
    rows = []
    for activation in activations:
        for row in agreement.pair_rows(_predicted_runs(runs, setup, activation)):
            rows.append({**dict(zip(SETUP, setup)), "activation": activation, **row})
    return rows


def agreement_rows(runs, setup, activations, pairs):
    """One row per activation with recorded predictions: churn, its excess over the least churn and the prediction
    difference, each the mean over its seed pairs with the delete-one-seed jackknife interval (three seeds or
    more), and its calibration error, the mean over seeds with the t interval (two or more). ``pairs``:
    ``seed_pair_rows``."""
    rows = []
    for activation in activations:
        predicted = _predicted_runs(runs, setup, activation)
        if not predicted:
            continue
        mine = [p for p in pairs if p["activation"] == activation]
        row = {**dict(zip(SETUP, setup)), "activation": activation, "seeds": sorted(predicted),
               "seed_pairs": len(mine),
               "test_accuracy_mean": float(np.mean([np.mean(p["predicted"] == p["labels"])
                                                    for p in predicted.values()]))}
        for key, name in (("churn", "churn"), ("excess_churn", "excess"),
                          ("prediction_difference", "prediction_difference")):
            mean, low, high = agreement.over_seed_pairs({(p["seed_a"], p["seed_b"]): p[key] for p in mine})
            row.update({key: mean, f"{name}_low": low, f"{name}_high": high})
        row["least_churn"] = float(np.mean([p["least_churn"] for p in mine])) if mine else float("nan")
        errors = [agreement.calibration_error(p["probabilities"], p["labels"]) for p in predicted.values()]
        row["calibration_per_seed"] = errors
        if len(errors) > 1:
            row["calibration_error"], _, (row["calibration_low"], row["calibration_high"]) = \
                uncertainty.t_interval(errors)
        else:
            row.update(calibration_error=errors[0], calibration_low=float("nan"), calibration_high=float("nan"))
        rows.append(row)
    return rows


def reliability_rows(runs, setup, activations, bins=agreement.BINS):
    """Each activation's reliability diagram: per confidence bin, its images over every seed, their mean top-label
    confidence and accuracy (pooled over the seeds)."""
    rows = []
    for activation in activations:
        predicted = list(_predicted_runs(runs, setup, activation).values())
        if not predicted:
            continue
        images, confidence, accuracy = (np.stack(part) for part in zip(*(
            agreement.reliability(p["probabilities"], p["labels"], bins) for p in predicted)))
        total = images.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled_confidence = np.nansum(images * confidence, axis=0) / total
            pooled_accuracy = np.nansum(images * accuracy, axis=0) / total
        rows += [{**dict(zip(SETUP, setup)), "activation": activation, "bin_low": k / bins, "bin_high": (k + 1) / bins,
                  "images": int(total[k]), "confidence": float(pooled_confidence[k]),
                  "accuracy": float(pooled_accuracy[k])} for k in range(bins)]
    return rows


def crossed_churn_rows(runs, crossed, setup, activations):
    """With a crossed seed design: per activation, the mean churn of runs that share the initialisation but not the
    batch order, the batch order but not the initialisation, and neither. ``crossed``: [(metrics, predictions)]
    of the runs off the diagonal (the diagonal, order = seed, is ``runs``')."""
    rows = []
    for activation in activations:
        cells = {(s, s): p for s, p in _predicted_runs(runs, setup, activation).items()}
        for metrics, predictions in crossed:
            if (metrics["dataset"], metrics["architecture"], metrics["recipe"]) == setup and \
                    metrics["activation"] == activation and metrics.get("diverged_at_step") is None:
                cells[metrics["seed"], metrics["settings"]["order_seed"]] = predictions
        if len(cells) < 2 or all(init == order for init, order in cells):
            continue
        values = {(a, b): agreement.churn(cells[a]["predicted"], cells[b]["predicted"])
                  for a, b in itertools.combinations(sorted(cells), 2)}
        split = agreement.crossed_sources(values, {cell: cell for cell in cells})
        rows += [{**dict(zip(SETUP, setup)), "activation": activation, "shared": kind, "churn": mean, "pairs": count}
                 for kind, (mean, count) in split.items()]
    return rows
