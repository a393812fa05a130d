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
- The test images: how far the accuracy would move on another draw of as many test images, the binomial
  p(1 - p) / n, with p from the runs' mean accuracy (its Wilson interval gives the interval).
"""

import functools

import numpy as np
from scipy import stats

LEVEL = 0.95


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


def chi_square_interval(ms, df, level=LEVEL):
    """The exact interval of a variance whose mean square ``ms`` has ``df`` degrees of freedom."""
    upper, lower = _chi2_quantiles(df, level)
    return df * ms / upper, df * ms / lower


@functools.lru_cache(maxsize=64)
def _chi2_quantiles(df, level):
    tail = (1 - level) / 2
    return stats.chi2.ppf(1 - tail, df), stats.chi2.ppf(tail, df)


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


def binomial_variance(accuracy, images, level=LEVEL):
    """The variance of an accuracy measured on ``images`` test images (p(1 - p) / n at ``accuracy``), with the
    interval its Wilson interval of p gives."""
    result = stats.binomtest(int(round(accuracy * images)), images)
    low, high = result.proportion_ci(level, method="wilson")
    values = [p * (1 - p) / images for p in (low, high)]
    if low < 0.5 < high:  # p(1 - p) peaks at 1/2
        values.append(0.25 / images)
    return accuracy * (1 - accuracy) / images, (min(values), max(values))


def seed_variances(table, level=LEVEL):
    """Each seed's source of variance of one activation's test accuracy from its crossed ``table`` (I x J, I, J >= 2;
    rows: initialisation seeds, columns: batch-order seeds): {source: (estimate, (low, high))} for
    "initialisation", "batch order" and "interaction". Estimates below 0 (a mean square below the rest's) are 0."""
    table = np.asarray(table, dtype=float)
    rows, columns = table.shape
    if rows < 2 or columns < 2:
        raise ValueError(f"a crossed table needs two or more of each seed, got {rows} x {columns}")
    (ms_init, ms_order, ms_rest), (df_init, df_order, df_rest) = mean_squares(table)
    return {
        "initialisation": (max((ms_init - ms_rest) / columns, 0.0),
                           difference_interval(1 / columns, ms_init, df_init, 1 / columns, ms_rest, df_rest, level)),
        "batch order": (max((ms_order - ms_rest) / rows, 0.0),
                        difference_interval(1 / rows, ms_order, df_order, 1 / rows, ms_rest, df_rest, level)),
        "interaction": (ms_rest, chi_square_interval(ms_rest, df_rest, level)),
    }


def variance_split(table, images, level=LEVEL):
    """``seed_variances`` of the crossed ``table`` measured on ``images`` test images, and "test images": the
    binomial variance of its mean accuracy."""
    return {**seed_variances(table, level), "test images": binomial_variance(np.mean(table), images, level)}
