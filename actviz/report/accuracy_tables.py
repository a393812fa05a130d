"""What the accuracies support, in numbers: each activation's test accuracy with its interval, every pair of
activations compared (paired over seeds and decided by ``actviz.sequential``, or one seed's networks by McNemar),
whether the top one is a winner, and the per-class results. The words for them: ``verdict_words``.

Plain data in, plain data out (numpy and scipy.stats, no plotting); ``runs`` as in ``numbers``.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from actviz import sequential
from actviz.evaluation import unpack_bits
from actviz.report import uncertainty
from actviz.report.numbers import finite, seeds_of


def final_correct(metrics):
    """Each test image's result in the run's last evaluation (boolean array), or None if not recorded."""
    evaluation = metrics.get("final_evaluation")
    if not evaluation:
        return None
    return unpack_bits(evaluation["correct"], evaluation["images"])


SETUP = ("dataset", "architecture", "recipe")  # a row's setup columns


# The columns of the tables that can be empty (one activation, or every run diverged): their headers stay.
COMPARISON_COLUMNS = (*SETUP, "activation_a", "activation_b", "seeds", "evidence", "decision", "within_margin",
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
    """How pairs of activations are decided: ``margin`` of equivalence (a fraction), and ``planned``: the seeds of
    each look of a "seeds until decided" study (``actviz.looks.planned_looks``); with one look or none, one look at
    the seeds there are."""

    margin: float = 0.01
    planned: tuple = ()

    @property
    def max_seeds(self):
        """The seeds the looks may grow to; 0 without looks."""
        return len(self.planned[-1]) if len(self.planned) > 1 else 0

    def looks(self, seeds):
        """(the seeds of the looks reached, in the order the looks add them; the seeds at each planned look;
        max_seeds) for a setup whose runs have ``seeds`` (finished or diverged): the planned looks whose seeds all
        ran, when the first did, else one look at ``seeds``."""
        if len(self.planned) > 1 and set(self.planned[0]) <= set(seeds):
            reached = max(len(look) for look in self.planned if set(look) <= set(seeds))
            return list(self.planned[-1])[:reached], [len(look) for look in self.planned], len(self.planned[-1])
        return sorted(seeds), [len(seeds)], len(seeds)


DECIDED = ("ahead", "behind", "equivalent")  # a pair's decisions over seeds that end a "seeds until decided" study
NETWORKS = "networks"  # one seed: the evidence is about these two trained networks, on the test images
ACTIVATIONS = "activations"  # seeds, paired: the evidence is about the activations


def comparison_rows(runs, accuracy, setup, design=Design()):
    """Every two activations of a setup with finite runs, the better mean first. Over seeds (two or more common
    finite seeds, or any with planned looks): the activations, decided by ``actviz.sequential`` look by look as the
    workflow stops (ahead, behind, equivalent within the margin, or undecided), paired by seed in the looks' order,
    a diverged seed left out of its pairs and named, one step-down across all of the setup's pairs; a decision is
    frozen at its look. One common seed: these two trained networks on the test images (exact McNemar), which says
    nothing of the activations."""
    ranked = _ranked(accuracy, setup)
    order, sizes, max_seeds = design.looks(sorted({s for r in ranked for s in r["all_seeds"]}))
    accuracies = {(r["activation"], s): _finite_accuracy(runs.get((*setup, r["activation"], s))) for r in ranked
                  for s in order}
    rows, family = [], {}
    for better, worse in itertools.combinations(ranked, 2):
        a, b = better["activation"], worse["activation"]
        common = [s for s in order if accuracies[a, s] is not None and accuracies[b, s] is not None]
        row = {**dict(zip(SETUP, setup)), "activation_a": a, "activation_b": b, "seeds": common,
               "diverged": "; ".join(f"{act} seed {s}" for s in order for act in (a, b)
                                     if (*setup, act, s) in runs and accuracies[act, s] is None)}
        if len(sizes) > 1 or len(common) >= 2:
            row["evidence"] = ACTIVATIONS
            family[len(rows)] = [np.nan if s not in common else accuracies[a, s] - accuracies[b, s] for s in order]
        elif common and all(final_correct(runs[(*setup, act, common[0])]["metrics"]) is not None for act in (a, b)):
            row.update(uncertainty.mcnemar_difference(*(final_correct(runs[(*setup, act, common[0])]["metrics"])
                                                        for act in (a, b))), evidence=NETWORKS)
            row["decision"] = "networks differ" if uncertainty.distinguishable(row) else "networks within noise"
        else:
            row["method"] = "not compared: " + ("no seed where both finished" if not common
                                                else "per-image results not recorded")
        rows.append(row)
    if family:
        decided = sequential.decide(family, design.margin, sizes, max_seeds)
        for index, result in decided.items():
            _decided_row(rows[index], result, order, sizes, len(family), design.margin)
    for row in rows:
        row["distinguishable"] = row.get("decision") in ("ahead", "behind", "networks differ")
    return rows


def _finite_accuracy(run):
    """A run's test accuracy, None when it diverged or is not there."""
    if run is None or run["metrics"].get("diverged_at_step") is not None:
        return None
    accuracy = run["metrics"].get("test_accuracy")
    return accuracy if finite(accuracy) else None


def _decided_row(row, result, order, sizes, pairs, margin):
    """Fill a pair's row (in place) with its ``sequential.decide`` result."""
    looks = len(sizes)
    row.update(looks=looks, margin=margin, pairs=pairs, decision=result["decision"])
    if result["look"] < 0:  # never tested: fewer than three finite seeds at every look
        row["method"] = f"not tested: {len(row['seeds'])} seed{'s' if len(row['seeds']) != 1 else ''} where both " \
                        f"finished, three needed with looks"
        return
    tested_at = sizes[result["look"]]
    row["seeds"] = [s for s in row["seeds"] if s in order[:tested_at]]
    row.update({key: result[key] for key in ("difference", "ci_low", "ci_high", "equivalence_low", "equivalence_high",
                                             "p_equivalent", "paired_std", "within_margin", "zero_spread")},
               p_value=result["p_differ"],
               decided_at_look=None if result["decided_look"] < 0 else result["decided_look"] + 1)
    when = "" if looks == 1 else (f", decided at look {result['decided_look'] + 1} of {looks}"
                                  if result["decided_look"] >= 0 else f", look {result['look'] + 1} of {looks}")
    row["method"] = f"paired t over {result['seeds']} seeds{when}"
    if result["decision"] == "undecided":
        row["seeds_to_decide"] = sequential.seeds_for_power(result["difference"], result["paired_std"])
        row["seeds_for_equivalence"] = sequential.seeds_for_equivalence(result["difference"], result["paired_std"],
                                                                        margin)


def verdict(accuracy, comparisons, setup):
    """The top activation of a setup and what the data supports of it: a ``winner`` only when it is decided ahead
    of every other activation over seeds (never from one seed, whose comparisons are of trained networks)."""
    ranked = _ranked(accuracy, setup)
    if not ranked:
        return None
    top = ranked[0]
    against = [c for c in comparisons if setup_of(c) == setup and c["activation_a"] == top["activation"]]
    ahead = against and all(c.get("decision") == "ahead" for c in against)
    mine = [c for c in comparisons if setup_of(c) == setup]
    return {"top": top, "winner": top if ahead else None, "ranked": ranked, "pairs": mine,
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
