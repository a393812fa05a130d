"""What the accuracies support, in numbers: each activation's test accuracy with its interval, every pair of
activations compared (paired over seeds and decided by ``actviz.sequential``, or one seed's networks by McNemar),
whether the top one is a winner, and the per-class results. The words for them: ``verdict_words``.

Plain data in, plain data out (numpy and scipy.stats, no plotting); ``runs`` as in ``numbers``.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from actviz import sequential
from actviz.agreement import disjoint_pairs as agreement_pairs
from actviz.evaluation import unpack_bits
from actviz.report import axes, uncertainty
from actviz.report.numbers import finite, seeds_of


def final_correct(metrics):
    """Each test image's result in the run's last evaluation (boolean array), or None if not recorded."""
    evaluation = metrics.get("final_evaluation")
    if not evaluation:
        return None
    return unpack_bits(evaluation["correct"], evaluation["images"])


SETUP = ("dataset", "architecture", "recipe")  # a row's setup columns


# The columns of the tables that can be empty (one activation, or every run diverged): their headers stay.
COMPARISON_COLUMNS = (*SETUP, "axis", "activation_a", "activation_b", "seeds", "evidence", "decision", "within_margin",
                      "decided_at_look", "difference", "ci_low", "ci_high", "p_value", "method", "margin",
                      "equivalence_low", "equivalence_high", "p_equivalent", "paired_std", "zero_spread", "looks",
                      "pairs", "diverged", "seeds_to_decide", "seeds_for_equivalence", "only_a", "only_b",
                      "distinguishable")


PER_CLASS_COLUMNS = (*SETUP, "activation", "class", "images", "seeds", "accuracy_mean", "accuracy_per_seed")


CONFUSION_COLUMNS = (*SETUP, "activation", "seeds", "true_class", "predicted_class", "images_mean")


def setup_of(row):
    return tuple(row[k] for k in SETUP)


def accuracy_rows(runs, setups, activations):
    """One row per (setup, activation): test accuracy over the finite seeds with its 95% interval
    (Wilson for one seed, t over several), every seed's value, and the diverged seeds."""
    rows = []
    for setup, activation in itertools.product(setups, activations):
        all_seeds = seeds_of(runs, setup, activation, finite=False)
        if not all_seeds:
            continue
        seeds = seeds_of(runs, setup, activation)
        metrics = {s: runs[(*setup, activation, s)]["metrics"] for s in all_seeds}
        correct = final_correct(metrics[seeds[0]]) if len(seeds) == 1 else None
        one = metrics[seeds[0]] if seeds else metrics[all_seeds[0]]
        estimate = uncertainty.accuracy_estimate(
            [metrics[s]["test_accuracy"] for s in seeds],
            int(correct.sum()) if correct is not None else round(one["test_accuracy"] * one["test_size"])
            if seeds else None, one["test_size"])
        rows.append({**dict(zip(SETUP, setup)), "activation": activation, "seeds": seeds,
                     "test_accuracy_mean": estimate["mean"], "test_accuracy_std": estimate["std"],
                     "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"], "interval": estimate["method"],
                     "all_seeds": all_seeds,
                     "test_accuracy_per_seed": [metrics[s]["test_accuracy"] for s in all_seeds],
                     "diverged": "; ".join(f"seed {s} at step {m['diverged_at_step']}" for s, m in metrics.items()
                                           if m.get("diverged_at_step") is not None),
                     "steps": max(m["final_step"] for m in metrics.values()), "test_images": one["test_size"]})
    return rows


def _ranked(accuracy, setup):
    return sorted((r for r in accuracy if setup_of(r) == setup and r["seeds"]), key=lambda r: -r["test_accuracy_mean"])


@dataclass(frozen=True)
class Design:
    """How pairs of activations are decided: ``margin`` of equivalence of test accuracy (a fraction), the other
    axes' margins (``margins``: {axis name: margin}, each axis's default without), and ``planned``: the seeds of
    each look of a "seeds until decided" study (``actviz.looks.planned_looks``); with one look or none, one look at
    the seeds there are."""

    margin: float = 0.01
    planned: tuple = ()
    margins: tuple = ()  # ((axis name, margin), ...)
    decide_on: tuple = ("accuracy",)  # the axes a "seeds until decided" study trains seeds until it decides

    @property
    def max_seeds(self):
        """The seeds the looks may grow to; 0 without looks."""
        return len(self.planned[-1]) if len(self.planned) > 1 else 0

    def margin_of(self, axis):
        """The equivalence margin of ``axis``."""
        return self.margin if axis is axes.ACCURACY else dict(self.margins).get(axis.name, DEFAULT_MARGIN)

    def looks(self, seeds):
        """(the seeds of the looks reached, in the order the looks add them; the seeds at each planned look;
        max_seeds) for a setup whose runs have ``seeds`` (finished or diverged): the planned looks whose seeds all
        ran, when the first did, else one look at ``seeds``."""
        if len(self.planned) > 1 and set(self.planned[0]) <= set(seeds):
            reached = max(len(look) for look in self.planned if set(look) <= set(seeds))
            return list(self.planned[-1])[:reached], [len(look) for look in self.planned], len(self.planned[-1])
        return sorted(seeds), [len(seeds)], len(seeds)


DEFAULT_MARGIN = 0.01


def design_of(settings, planned=()):
    """The ``Design`` that report settings (``actviz.settings.ReportSettings``) describe, over the looks
    ``planned``."""
    return Design(settings.equivalence_margin, planned,
                  tuple((name, getattr(settings, axis.margin_setting)) for name, axis in axes.AXES.items()
                        if axis is not axes.ACCURACY), tuple(settings.decide_on))
# a pair's decisions over seeds that end a "seeds until decided" study, on any axis
DECIDED = ("ahead", "behind", "equivalent", *{w for axis in axes.AXES.values() for w in axis.words})
NETWORKS = "networks"  # one seed: the evidence is about these two trained networks, on the test images
ACTIVATIONS = "activations"  # seeds, paired: the evidence is about the activations


def comparison_rows(runs, accuracy, setup, design=Design(), axis=axes.ACCURACY):
    """Every two activations of a setup with finite runs, the better mean accuracy first, compared on ``axis``
    (``axes.AXES``). Over its units (two or more common finite ones, or any with planned looks): the activations,
    decided by ``actviz.sequential`` look by look as the workflow stops (better, worse, equivalent within the
    axis's margin, or undecided), paired by unit in the looks' order, a diverged seed left out of its pairs and
    named, one step-down across all of the setup's pairs of this axis; a decision is frozen at its look. Test
    accuracy at one common seed: these two trained networks on the test images (exact McNemar), which says
    nothing of the activations."""
    ranked = _ranked(accuracy, setup)
    order, sizes, max_seeds = design.looks(sorted({s for r in ranked for s in r["all_seeds"]}))
    units = axis.units(order)
    values = {(r["activation"], unit): axis.value(runs, setup, r["activation"], unit) for r in ranked
              for unit in units}
    sign = 1 if axis.higher_is_better else -1  # sequential's "ahead": a better on the axis
    rows, family = [], {}
    for better, worse in itertools.combinations(ranked, 2):
        a, b = better["activation"], worse["activation"]
        common = [u for u in units if values[a, u] is not None and values[b, u] is not None]
        row = {**dict(zip(SETUP, setup)), "axis": axis.name, "activation_a": a, "activation_b": b,
               "seeds": axis.seeds_of(common),
               "diverged": "; ".join(f"{act} seed {s}" for s in order for act in (a, b)
                                     if (*setup, act, s) in runs and _finite_accuracy(runs.get((*setup, act, s)))
                                     is None)}
        if len(sizes) > 1 or len(common) >= 2:
            row["evidence"] = ACTIVATIONS
            family[len(rows)] = [np.nan if u not in common else sign * (values[a, u] - values[b, u]) for u in units]
        elif axis is axes.ACCURACY and common and all(
                final_correct(runs[(*setup, act, common[0])]["metrics"]) is not None for act in (a, b)):
            row.update(uncertainty.mcnemar_difference(*(final_correct(runs[(*setup, act, common[0])]["metrics"])
                                                        for act in (a, b))), evidence=NETWORKS)
            row["decision"] = "networks differ" if uncertainty.distinguishable(row) else "networks within noise"
        else:
            row["method"] = "not compared: " + _not_compared(axis, common, order)
        rows.append(row)
    if family:
        unit_sizes = [axis.unit_count(n) for n in sizes]
        decided = sequential.decide(family, design.margin_of(axis), unit_sizes, axis.unit_count(max_seeds))
        for index, result in decided.items():
            _decided_row(rows[index], result, units, unit_sizes, len(family), design.margin_of(axis), axis)
    for row in rows:
        row["distinguishable"] = row.get("decision") in ("ahead", "behind", "networks differ", *axis.words)
    return rows


def _not_compared(axis, common, order):
    if axis is axes.ACCURACY:
        return "no seed where both finished" if not common else "per-image results not recorded"
    if axis.by_seed_pair and len(order) < 2:
        return "churn needs two seeds of each"
    return "predictions not recorded" if not common else f"one {'seed pair' if axis.by_seed_pair else 'seed'}"


def _finite_accuracy(run):
    """A run's test accuracy, None when it diverged or is not there."""
    if run is None or run["metrics"].get("diverged_at_step") is not None:
        return None
    accuracy = run["metrics"].get("test_accuracy")
    return accuracy if finite(accuracy) else None


def _decided_row(row, result, units, sizes, pairs, margin, axis=axes.ACCURACY):
    """Fill a pair's row (in place) with its ``sequential.decide`` result on ``axis`` (its differences a - b in the
    axis's own direction: a better is positive), reported as a - b of the axis's values."""
    looks = len(sizes)
    row.update(looks=looks, margin=margin, pairs=pairs, decision=result["decision"])
    if result["look"] < 0:  # never tested: fewer than three finite units at every look
        count, unit = len(row["seeds"]) // (2 if axis.by_seed_pair else 1), "seed pair" if axis.by_seed_pair else "seed"
        row["method"] = f"not tested: {count} {unit}{'s' if count != 1 else ''} where both " \
                        f"finished, three needed with looks"
        return
    tested_at = sizes[result["look"]]
    row["seeds"] = axis.seeds_of([u for u in units[:tested_at] if u in _units_of(row["seeds"], axis)])
    sign = 1 if axis.higher_is_better else -1
    row.update({key: result[key] for key in ("difference", "ci_low", "ci_high", "equivalence_low", "equivalence_high",
                                             "p_equivalent", "paired_std", "within_margin", "zero_spread")},
               p_value=result["p_differ"],
               decided_at_look=None if result["decided_look"] < 0 else result["decided_look"] + 1)
    if sign < 0:  # back to a - b of the axis's values, the intervals turned round
        row.update(difference=-row["difference"], ci_low=-result["ci_high"], ci_high=-result["ci_low"],
                   equivalence_low=-result["equivalence_high"], equivalence_high=-result["equivalence_low"])
    if result["decision"] in ("ahead", "behind") and axis is not axes.ACCURACY:
        row["decision"] = axis.words[0] if result["decision"] == "ahead" else axis.words[1]
    when = "" if looks == 1 else (f", decided at look {result['decided_look'] + 1} of {looks}"
                                  if result["decided_look"] >= 0 else f", look {result['look'] + 1} of {looks}")
    what = f"{result['seeds']} disjoint seed pairs" if axis.by_seed_pair else f"{result['seeds']} seeds"
    row["method"] = f"paired t over {what}{when}"
    if result["decision"] == "undecided":
        per_unit = 2 if axis.by_seed_pair else 1
        power = sequential.seeds_for_power(result["difference"], result["paired_std"])
        equivalence = sequential.seeds_for_equivalence(result["difference"], result["paired_std"], margin)
        row["seeds_to_decide"] = power and per_unit * power
        row["seeds_for_equivalence"] = equivalence and per_unit * equivalence


def _units_of(seeds, axis):
    return agreement_pairs(seeds) if axis.by_seed_pair else list(seeds)


def verdict(accuracy, comparisons, setup):
    """The top activation of a setup and what the data supports of it: a ``winner`` only when it is decided ahead
    of every other activation over seeds in test accuracy (never from one seed, whose comparisons are of trained
    networks); ``axes``: {axis name: its pairs} of the other axes where some pair was compared over seeds."""
    ranked = _ranked(accuracy, setup)
    if not ranked:
        return None
    top = ranked[0]
    mine = [c for c in comparisons if setup_of(c) == setup and c.get("axis", "accuracy") == "accuracy"]
    against = [c for c in mine if c["activation_a"] == top["activation"]]
    ahead = against and all(c.get("decision") == "ahead" for c in against)
    others = {name: [c for c in comparisons if setup_of(c) == setup and c.get("axis") == name]
              for name in axes.AXES if name != "accuracy"}
    return {"top": top, "winner": top if ahead else None, "ranked": ranked, "pairs": mine,
            "axes": {name: rows for name, rows in others.items() if any(c.get("evidence") == ACTIVATIONS
                                                                        for c in rows)},
            "tied": [c for c in against if not c["distinguishable"]],
            "below": [c for c in against if c["distinguishable"]],
            # every compared pair rests on one seed (pairs not compared at all say so in their own words)
            "one_seed": {c.get("evidence") for c in mine} - {None} == {NETWORKS}}


def _evaluated_seeds(runs, setup, activation):
    return [s for s in seeds_of(runs, setup, activation) if runs[(*setup, activation, s)]["metrics"].get(
        "final_evaluation")]


def per_class_rows(runs, setup, activations, classes):
    """Each class's test accuracy per activation, mean over the finite seeds that recorded their final
    evaluation, and every seed's value."""
    rows = []
    for activation in activations:
        seeds = _evaluated_seeds(runs, setup, activation)
        if not seeds:
            continue
        confusions = [np.array(runs[(*setup, activation, s)]["metrics"]["final_evaluation"]["confusion"])
                      for s in seeds]
        per_seed = [np.diag(c) / np.maximum(c.sum(axis=1), 1) for c in confusions]
        for index, name in enumerate(classes):
            rows.append({**dict(zip(SETUP, setup)), "activation": activation, "class": name,
                         "images": int(confusions[0][index].sum()), "seeds": seeds,
                         "accuracy_mean": float(np.mean([p[index] for p in per_seed])),
                         "accuracy_per_seed": [float(p[index]) for p in per_seed]})
    return rows


def confusion_rows(runs, setup, activations, classes):
    """The confusion matrix of each activation's final evaluation (true x predicted, images), mean over
    its finite seeds, as tidy rows."""
    rows = []
    for activation in activations:
        seeds = _evaluated_seeds(runs, setup, activation)
        if not seeds:
            continue
        mean = np.mean([runs[(*setup, activation, s)]["metrics"]["final_evaluation"]["confusion"] for s in seeds],
                       axis=0)
        rows += [{**dict(zip(SETUP, setup)), "activation": activation, "seeds": seeds,
                  "true_class": classes[t], "predicted_class": classes[p], "images_mean": float(mean[t, p])}
                 for t in range(len(classes)) for p in range(len(classes))]
    return rows
