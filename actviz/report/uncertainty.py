"""How sure a compared number is: 95% intervals for a test accuracy and for the difference between
two activations' accuracies, with the test behind each (scipy.stats does the distributions).

Every function returns plain floats and says which method it used, so that the report can print it.
"""

import math

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def wilson_interval(correct, images):
    """95% Wilson score interval of an accuracy of ``correct`` out of ``images`` (one run)."""
    interval = stats.binomtest(int(correct), int(images)).proportion_ci(CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


def t_interval(values):
    """Mean, sample std (ddof 1) and the 95% t interval of the mean of ``values`` (two or more)."""
    values = np.asarray(values, dtype=np.float64)
    mean, std = float(values.mean()), float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * std / math.sqrt(len(values))
    return mean, std, (mean - half, mean + half)


def accuracy_estimate(accuracies, correct=None, images=None):
    """An activation's test accuracy over its finite seeds, with a 95% interval.

    One seed: the accuracy and its Wilson interval from the test split (``correct`` of ``images``).
    Several: the mean, sample std and the t interval over seeds.
    """
    if len(accuracies) == 0:
        return {"mean": None, "std": None, "ci_low": None, "ci_high": None, "method": "no finite run"}
    if len(accuracies) == 1:
        low, high = wilson_interval(correct, images)
        return {"mean": float(accuracies[0]), "std": None, "ci_low": low, "ci_high": high,
                "method": f"Wilson, {images} test images"}
    mean, std, (low, high) = t_interval(accuracies)
    return {"mean": mean, "std": std, "ci_low": low, "ci_high": high, "method": f"t over {len(accuracies)} seeds"}


def paired_seeds_difference(a, b):
    """Accuracy difference a - b paired by seed (two or more seeds): mean, 95% t interval, paired t test."""
    differences = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mean, std, (low, high) = t_interval(differences)
    if std == 0:  # every seed gave the same difference: no spread to test against
        p_value = 1.0 if mean == 0 else 0.0
    else:
        p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    return {"difference": mean, "ci_low": low, "ci_high": high, "p_value": p_value,
            "method": f"paired t over {len(differences)} seeds"}


def mcnemar_difference(correct_a, correct_b, split="test"):
    """Accuracy difference a - b of two runs on the same test images (boolean arrays of each image's
    result): the exact McNemar test and the matching 95% interval.

    Only the discordant images count: ``only_a`` right by a alone, ``only_b`` by b alone. Under equal
    accuracy ``only_a`` ~ Binomial(only_a + only_b, 1/2): the test is that binomial test, and the
    interval is its exact (Clopper-Pearson) interval for the share of ``only_a`` mapped onto the
    difference, so that the interval excludes 0 exactly when p < 0.05.
    """
    correct_a, correct_b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    images = len(correct_a)
    only_a = int(np.count_nonzero(correct_a & ~correct_b))
    only_b = int(np.count_nonzero(~correct_a & correct_b))
    discordant = only_a + only_b
    result = {"difference": (only_a - only_b) / images, "only_a": only_a, "only_b": only_b,
              "method": f"exact McNemar, {images} {split} images"}
    if discordant == 0:  # the same answer on every image
        return {**result, "ci_low": 0.0, "ci_high": 0.0, "p_value": 1.0}
    test = stats.binomtest(only_a, discordant, 0.5)
    share = test.proportion_ci(CONFIDENCE, method="exact")
    scale = discordant / images
    return {**result, "ci_low": (2 * share.low - 1) * scale, "ci_high": (2 * share.high - 1) * scale,
            "p_value": float(test.pvalue)}


def distinguishable(comparison):
    """Whether a difference's 95% interval excludes zero."""
    return comparison["ci_low"] > 0 or comparison["ci_high"] < 0
