"""Activations compared across datasets: the probability of improvement with stratified bootstrap intervals, and the
mean rank. Pure numpy/scipy.

- Probability of improvement (Agarwal et al. 2021, "Deep reinforcement learning at the edge of the statistical
  precipice", NeurIPS; the rliable library): on one dataset, P(X > Y) is the chance that a run of activation X
  beats a run of Y, the Mann-Whitney U statistic over the N x K pairs of their seeds divided by N K (a tie counts
  half); across datasets, the mean of the datasets' values.
- Its interval: the stratified bootstrap of the same paper, the seeds of each activation resampled with replacement
  within each dataset (the strata), the percentile interval of the statistic over the resamples.
  ``tests/test_improvement.py`` measures its coverage on synthetic studies: with few seeds it covers less than its
  level, which the report says.
- Mean rank (Demšar 2006, "Statistical comparisons of classifiers over multiple data sets", JMLR 7:1): each
  dataset ranks the activations by mean accuracy (1 the best, ties share), the ranks averaged over datasets.
"""

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 2000


def _pairwise(x, y):
    """The mean over the resampled studies' last two axes' pairs of S(x, y): 1 if x > y, 1/2 if equal, else 0.
    ``x`` [..., N], ``y`` [..., K]."""
    x, y = np.asarray(x)[..., :, None], np.asarray(y)[..., None, :]
    return np.mean((x > y) + 0.5 * (x == y), axis=(-2, -1))


def probability_of_improvement(x, y):
    """P(X > Y) averaged over datasets: ``x``, ``y`` lists (one entry a dataset) of the two activations' accuracies
    over their seeds (any numbers of seeds, at least one each)."""
    return float(np.mean([_pairwise(a, b) for a, b in zip(x, y)]))


def stratified_bootstrap(x, y, level=LEVEL, resamples=RESAMPLES, seed=0):
    """(low, high): the percentile interval of ``probability_of_improvement(x, y)`` over ``resamples`` stratified
    bootstrap resamples (each activation's seeds drawn with replacement within each dataset), seeded."""
    rng = np.random.default_rng(seed)
    values = np.zeros(resamples)
    for a, b in zip(x, y):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        values += _pairwise(a[rng.integers(0, len(a), (resamples, len(a)))],
                            b[rng.integers(0, len(b), (resamples, len(b)))])
    values /= len(x)
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def mean_ranks(means):
    """Each activation's rank averaged over datasets: ``means`` [dataset, activation] of mean accuracies (1: the
    best; ties share the mean of their ranks)."""
    ranks = [stats.rankdata(-np.asarray(row, dtype=float)) for row in means]
    return np.mean(ranks, axis=0)
