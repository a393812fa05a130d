"""Where an activation's spread of test accuracy comes from: a crossed design (every initialisation seed trained with
every batch-order seed) split into its sources, each with an interval. Pure numpy/scipy.

The split follows Bouthillier et al. (2021), "Accounting for variance in machine learning benchmarks", MLSys 3,
which vary each source of a benchmark's randomness alone; here the two a training run owns are crossed, so that both
are estimated from the same I x J table of accuracies y_ij (initialisation i, batch order j):

- The two-way random-effects model without replication, y_ij = mu + a_i + b_j + e_ij (Searle, Casella & McCulloch
  1992, "Variance Components", ch. 4): a_i the initialisation's effect (with dropout's draws, which follow the same
  seed), b_j the batch order's, e_ij what neither explains alone (their interaction). ANOVA estimates from the mean
  squares: var(a) = (MS_init - MS_rest) / J, var(b) = (MS_order - MS_rest) / I, var(e) = MS_rest.
- Intervals: var(e) by its chi-square distribution; var(a) and var(b), differences of mean squares, by the modified
  large-sample method of Ting, Burdick, Graybill, Jeyaratnam & Lu (1990), J. Statist. Comput. Simul. 36:135, as
  Burdick & Graybill (1992), "Confidence Intervals on Variance Components", sec. 3.2, give it; bounds below 0 are 0.
  ``tests/test_variance.py`` measures their coverage on synthetic tables.
- The test images, from every run's per-image results (each image x right or wrong; m_x its rate over the runs):
  with one run per cell, the rest e_ij holds the interaction and each run's image-level noise, which of this test
  set's images it gets right, E_x[m(1 - m)] / n for n images (the Bernoulli variance a run's images add, estimated
  by the mean over images of the runs' sample variance, unbiased); the interaction is MS_rest less it (modified
  large-sample interval, the noise's degrees of freedom by Satterthwaite). Another draw of n test images adds
  Var_x(m) / n, estimated by the images' sample variance of m_x less the part the runs' noise adds, E[s_x^2] / R
  for R runs. Both have normal intervals from their spread over the images. The two add up to the binomial
  p(1 - p) / n of the mean accuracy, which the split counted once as "test images" before and once more inside
  the interaction.
- Estimates below 0 are shown as 0 (a source smaller than the noise of its estimate); ``Component.unbiased``
  keeps the ANOVA estimate itself, unbiased, which the tests average.
"""

import functools
from typing import NamedTuple

import numpy as np
from scipy import stats

LEVEL = 0.95
SOURCES = ("initialisation", "batch order", "interaction", "image noise", "another test draw")


class Component(NamedTuple):
    """One source's variance: the estimate (0 at least), its interval, and the unbiased estimate (may be below 0)."""

    estimate: float
    low: float
    high: float
    unbiased: float


def mean_squares(table):
    """(MS_init, MS_order, MS_rest) of an I x J table (rows: initialisation, columns: batch order), and their
    degrees of freedom."""
    table = np.asarray(table, dtype=float)
    rows, columns = table.shape
    grand = table.mean()
    row_means, column_means = table.mean(axis=1), table.mean(axis=0)
    rest = table - row_means[:, None] - column_means[None, :] + grand
    df = (rows - 1, columns - 1, (rows - 1) * (columns - 1))
    ms = (columns * np.sum((row_means - grand) ** 2) / df[0], rows * np.sum((column_means - grand) ** 2) / df[1],
          np.sum(rest ** 2) / df[2])
    return ms, df


@functools.lru_cache(maxsize=64)
def _mls_constants(df1, df2, level):
    """G1, G2, H1, H2, G12, H12 of Burdick & Graybill (1992, sec. 3.2) for two-sided ``level``."""
    tail = (1 - level) / 2
    g1, g2 = 1 - df1 / stats.chi2.ppf(1 - tail, df1), 1 - df2 / stats.chi2.ppf(1 - tail, df2)
    h1, h2 = df1 / stats.chi2.ppf(tail, df1) - 1, df2 / stats.chi2.ppf(tail, df2) - 1
    f_upper, f_lower = stats.f.ppf(1 - tail, df1, df2), stats.f.ppf(tail, df1, df2)
    g12 = ((f_upper - 1) ** 2 - g1 ** 2 * f_upper ** 2 - h2 ** 2) / f_upper
    h12 = ((1 - f_lower) ** 2 - h1 ** 2 * f_lower ** 2 - g2 ** 2) / f_lower
    return g1, g2, h1, h2, g12, h12


def difference_interval(c1, ms1, df1, c2, ms2, df2, level=LEVEL):
    """The modified large-sample interval (Ting et al. 1990) of c1 E[ms1] - c2 E[ms2], c1, c2 > 0, independent
    mean squares with df1, df2 degrees of freedom; bounds below 0 are 0."""
    g1, g2, h1, h2, g12, h12 = _mls_constants(df1, df2, level)
    estimate = c1 * ms1 - c2 * ms2
    low = estimate - np.sqrt(g1 ** 2 * c1 ** 2 * ms1 ** 2 + h2 ** 2 * c2 ** 2 * ms2 ** 2 + g12 * c1 * c2 * ms1 * ms2)
    high = estimate + np.sqrt(h1 ** 2 * c1 ** 2 * ms1 ** 2 + g2 ** 2 * c2 ** 2 * ms2 ** 2 + h12 * c1 * c2 * ms1 * ms2)
    return max(low, 0.0), max(high, 0.0)


def _normal_interval(estimate, se, level):
    half = stats.norm.isf((1 - level) / 2) * se
    return max(estimate - half, 0.0), max(estimate + half, 0.0)


def _draw_part(correct):
    """Var_x(m) / n, unbiased, from ``correct`` [runs, images], and each image's term of it."""
    runs, images = correct.shape
    rate = correct.mean(axis=0)
    within = rate * (1 - rate) * runs / (runs - 1)  # each image's sample variance over the runs, unbiased
    between = (rate - rate.mean()) ** 2 * images / (images - 1) - within / runs
    return between.mean() / images, within, between


def image_components(correct):
    """The two parts of the test images' variance of an accuracy from ``correct`` [I, J, images] (every crossed run's
    per-image results): (image noise, its se, its Satterthwaite degrees of freedom), (another test draw, its se).
    The draw's se adds to its spread over the images the delete-one jackknife over initialisation seeds and over
    batch orders: the runs' shared effects move every image's rate together."""
    correct = np.asarray(correct, dtype=float)
    rows, columns, images = correct.shape
    draw, within, between = _draw_part(correct.reshape(rows * columns, images))
    noise, noise_se = within.mean() / images, within.std(ddof=1) / np.sqrt(images) / images
    jackknife = 0.0
    for axis, size in ((0, rows), (1, columns)):
        left_out = np.array([_draw_part(np.delete(correct, k, axis=axis).reshape(-1, images))[0]
                             for k in range(size)])
        jackknife += (size - 1) / size * np.sum((left_out - left_out.mean()) ** 2)
    draw_se = np.sqrt((between.std(ddof=1) / np.sqrt(images) / images) ** 2 + jackknife)
    return (noise, noise_se, 2 * noise ** 2 / noise_se ** 2 if noise_se > 0 else np.inf), (draw, draw_se)


def variance_split(table, correct, level=LEVEL):
    """Where one run's test accuracy spreads from, each source counted once, from one activation's crossed ``table``
    of test accuracies (I x J, I, J >= 2; rows: initialisation seeds, columns: batch-order seeds) and ``correct``
    (I x J x images: every run's per-image results): {source: ``Component``} for ``SOURCES``."""
    table = np.asarray(table, dtype=float)
    rows, columns = table.shape
    if rows < 2 or columns < 2:
        raise ValueError(f"a crossed table needs two or more of each seed, got {rows} x {columns}")
    (ms_init, ms_order, ms_rest), (df_init, df_order, df_rest) = mean_squares(table)
    (noise, noise_se, noise_df), (draw, draw_se) = image_components(np.reshape(correct, (rows, columns, -1)))
    parts = {
        "initialisation": ((ms_init - ms_rest) / columns,
                           difference_interval(1 / columns, ms_init, df_init, 1 / columns, ms_rest, df_rest, level)),
        "batch order": ((ms_order - ms_rest) / rows,
                        difference_interval(1 / rows, ms_order, df_order, 1 / rows, ms_rest, df_rest, level)),
        "interaction": (ms_rest - noise, difference_interval(1, ms_rest, df_rest, 1, noise, min(noise_df, 1e6),
                                                             level)),
        "image noise": (noise, _normal_interval(noise, noise_se, level)),
        "another test draw": (draw, _normal_interval(draw, draw_se, level)),
    }
    return {source: Component(max(float(value), 0.0), float(low), float(high), float(value))
            for source, (value, (low, high)) in parts.items()}
