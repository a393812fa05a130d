"""The report's numbers across datasets (two or more): per architecture and recipe, each activation's mean rank over
the datasets and each pair's probability of improvement with its stratified bootstrap interval
(``actviz.improvement``), as across.csv's rows, and the plain words of how few datasets that is. Plain data."""

from actviz import improvement
from actviz.report.numbers import seeds_of

ACROSS_COLUMNS = ("architecture", "recipe", "datasets", "activation_a", "activation_b", "seeds_a", "seeds_b",
                  "probability", "ci_low", "ci_high", "mean_rank_a", "mean_rank_b")


def _accuracies(runs, setup, activation):
    return [runs[(*setup, activation, s)]["metrics"]["test_accuracy"] for s in seeds_of(runs, setup, activation)]


def across_rows(runs, datasets, architectures, recipes, activations):
    """One block per (architecture, recipe) run on two or more datasets by every activation with a finite run there:
    {"architecture", "recipe", "datasets", "order" (by mean rank), "ranks": {activation: mean rank}, "seeds":
    {activation: finite seeds on each dataset}, "pairs": ACROSS_COLUMNS rows (each two activations, the better mean
    rank first), "left_out": the datasets where an activation has no finite run, "few": ``few_datasets_words``}."""
    blocks = []
    for architecture in architectures:
        for recipe in recipes:
            present = [d for d in datasets if any(k[:3] == (d, architecture, recipe) for k in runs)]
            names = [a for a in activations if any(k[1:4] == (architecture, recipe, a) for k in runs)]
            common = [d for d in present if all(_accuracies(runs, (d, architecture, recipe), a) for a in names)]
            if len(common) < 2 or len(names) < 2:
                continue
            values = {a: [_accuracies(runs, (d, architecture, recipe), a) for d in common] for a in names}
            means = [[sum(values[a][i]) / len(values[a][i]) for a in names] for i in range(len(common))]
            ranks = dict(zip(names, map(float, improvement.mean_ranks(means))))
            order = sorted(names, key=lambda a: (ranks[a], names.index(a)))
            setup = {"architecture": architecture, "recipe": recipe, "datasets": common}
            pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
            blocks.append({**setup, "order": order, "ranks": ranks,
                           "seeds": {a: [len(v) for v in values[a]] for a in names},
                           "pairs": [_pair(setup, a, b, values, ranks) for a, b in pairs],
                           "left_out": [d for d in present if d not in common], "few": few_datasets_words(len(common))})
    return blocks


def _pair(setup, a, b, values, ranks):
    low, high = improvement.stratified_bootstrap(values[a], values[b])
    return {**setup, "activation_a": a, "activation_b": b, "seeds_a": [len(v) for v in values[a]],
            "seeds_b": [len(v) for v in values[b]],
            "probability": improvement.probability_of_improvement(values[a], values[b]), "ci_low": low, "ci_high": high,
            "mean_rank_a": ranks[a], "mean_rank_b": ranks[b]}


def few_datasets_words(count):
    """How much ``count`` datasets can say, plainly."""
    return (f"{count} datasets are few: these numbers say how the activations compare on these datasets, not on "
            f"datasets in general (Demšar 2006 compares classifiers over ten or more)"
            + (", and with so few a mean rank is a tally, not a test" if count < 5 else ""))
