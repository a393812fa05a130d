"""Seeds until decided: a group-sequential comparison of two activations, paired over seeds, that may look at the
data after every batch of seeds and still holds its error rate over all the looks. Pure numpy/scipy.

The design:
- Looks: after ``actviz.looks.look_sizes(first, max_seeds)`` seeds (3 -> 5 -> 8, ...). The information at a look
  is its number of seeds over ``max_seeds`` (the paired differences have one variance).
- Boundaries: Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70:659,
  alpha spending with the O'Brien-Fleming-type function alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)); the
  two-sided critical values c_1..c_K of the standardised statistic follow from it by the recursive numerical
  integration of Armitage, McPherson & Rowe (1969) as Jennison & Turnbull (2000), "Group Sequential Methods with
  Applications to Clinical Trials", ch. 19, give it.
- Repeated confidence intervals (Jennison & Turnbull 1989, JRSS B 51:305; 2000, ch. 9): at look k the interval
  mean +- c_k se holds the true difference at every look at once with probability 1 - alpha. With seeds the se is
  estimated: c_k is used at its nominal level through the t distribution with n_k - 1 degrees of freedom
  (Jennison & Turnbull 2000, sec. 3.8 and 9.4). ``tests/test_sequential.py`` measures the error rates this gives.
- Decisions: "ahead" when the interval at level alpha excludes 0; "equivalent" when the interval at level 2 alpha
  lies inside +-margin (two one-sided tests at alpha each, Schuirmann 1987, repeated as Jennison & Turnbull
  2000 ch. 6 do). Repeated p-values (the smallest alpha whose interval decides, Jennison & Turnbull 2000, sec. 9.5),
  kept at their minimum over the looks, go through Holm (1979) across the pairs of a setup.
"""

import functools
import math

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.8  # of "how many seeds would decide it"
_GRID = 401  # points of the numerical integration a look (Simpson's rule): boundaries within 1e-4
_ALPHAS = np.geomspace(1e-6, 0.999, 160)  # the levels repeated p-values are read off between


def obrien_fleming_spending(t, alpha):
    """Lan-DeMets' O'Brien-Fleming-type spending function: the error spent by information fraction ``t``."""
    return 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / np.sqrt(t))


def _simpson_weights(n, h):
    weights = np.ones(n)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    return weights * h / 3


@functools.lru_cache(maxsize=256)
def boundaries(fractions, alpha):
    """Two-sided critical values c_k of the standardised statistic Z_k at information ``fractions`` (increasing,
    the last 1) so that, with no true difference, P(|Z_k| >= c_k at some look) = ``alpha``, spent as
    ``obrien_fleming_spending`` says by each look. Z_k = S_k / sqrt(t_k) for the score S with independent
    Gaussian increments of variance t_k - t_{k-1}; its density on the continuation region is carried look to
    look on a grid (Jennison & Turnbull 2000, ch. 19)."""
    spent = np.diff(obrien_fleming_spending(np.asarray(fractions, dtype=float), alpha), prepend=0.0)
    critical, carried, previous = [], None, 0.0  # carried: (grid, Simpson weights x density) of the last look
    for t, spend in zip(fractions, spent):
        sd = math.sqrt(t - previous)
        c = (optimize.brentq(_crossing, 1e-6, 40.0, args=(t, sd, carried, spend), xtol=1e-10)
             if spend > 1e-15 else 40.0)
        critical.append(c)
        grid = np.linspace(-c * math.sqrt(t), c * math.sqrt(t), _GRID)
        if carried is None:
            density = stats.norm.pdf(grid / sd) / sd
        else:
            density = (stats.norm.pdf((grid[:, None] - carried[0][None, :]) / sd) / sd) @ carried[1]
        carried, previous = (grid, _simpson_weights(_GRID, grid[1] - grid[0]) * density), t
    return tuple(critical)


def _crossing(c, t, sd, carried, spend):
    """P(the score crosses +-c sqrt(t) at this look and not before), from the last look's ``carried`` density,
    less the error ``spend`` allowed there (brentq's root is the boundary)."""
    bound = c * math.sqrt(t)
    if carried is None:
        return 2 * stats.norm.sf(bound / sd) - spend
    grid, mass = carried
    return float(np.sum(mass * (stats.norm.sf((bound - grid) / sd) + stats.norm.cdf((-bound - grid) / sd)))) - spend


def _fractions(sizes, max_seeds):
    return tuple(n / max_seeds for n in sizes)


def _nominal_z(t_stat, df):
    """The standard normal quantile of a t statistic's one-sided tail: the boundary's nominal level on the t."""
    return stats.norm.isf(stats.t.sf(np.abs(t_stat), df))


def _t_critical(c, df):
    return float(stats.t.isf(stats.norm.sf(c), df))


@functools.lru_cache(maxsize=256)
def _boundary_table(fractions):
    """c_k at every level of ``_ALPHAS`` (rows) for every look (columns), for reading repeated p-values off."""
    return np.array([boundaries(fractions, float(a)) for a in _ALPHAS])


def repeated_p_value(z, fractions, look):
    """The smallest alpha at which |Z| = ``z`` (an array) crosses the boundary of look ``look`` (0-based): a
    p-value valid whatever look it is read at (log-linear between the tabulated levels, 1e-6 at least)."""
    column = _boundary_table(fractions)[:, look]  # decreasing in alpha
    p = np.exp(np.interp(-np.asarray(z, dtype=np.float64), -column, np.log(_ALPHAS)))
    return np.where(np.asarray(z) <= column[-1], 1.0, p)


def look_statistics(differences, margin, sizes, max_seeds, alpha=ALPHA):
    """A pair's paired differences (a - b, one a seed along the last axis; the first ``sizes[k]`` at look k) at
    the last look they reach: the mean, the paired std, the repeated confidence intervals at 1 - alpha (ahead)
    and 1 - 2 alpha (equivalence), and the repeated p-values of "a and b differ" and "a and b are within
    +-margin". Leading axes are independent sequences (the simulation tests draw thousands at once)."""
    d = np.asarray(differences, dtype=np.float64)
    look = max(k for k, n in enumerate(sizes) if n <= d.shape[-1])
    n, fractions = sizes[look], _fractions(sizes, max_seeds)
    d = d[..., :n]
    mean, std = d.mean(axis=-1), d.std(axis=-1, ddof=1)
    se, df = std / math.sqrt(n), n - 1
    half = _t_critical(boundaries(fractions, alpha)[look], df) * se
    half_equivalence = _t_critical(boundaries(fractions, 2 * alpha)[look], df) * se
    spread = se > 0  # where every seed gave the same difference, the mean decides alone
    with np.errstate(divide="ignore", invalid="ignore"):
        p_differ = np.where(spread, repeated_p_value(_nominal_z(mean / se, df), fractions, look),
                            np.where(mean != 0, 0.0, 1.0))
        # each one-sided test at alpha is half the two-sided design at 2 alpha
        one_sided = [np.where(t > 0, repeated_p_value(_nominal_z(t, df), fractions, look) / 2, 1.0)
                     for t in ((mean + margin) / se, (margin - mean) / se)]
    p_equivalent = np.where(spread, np.maximum(*one_sided), np.where(np.abs(mean) < margin, 0.0, 1.0))
    return {"look": look, "seeds": n, "difference": mean, "paired_std": std,
            "ci_low": mean - half, "ci_high": mean + half,
            "equivalence_low": mean - half_equivalence, "equivalence_high": mean + half_equivalence,
            "p_differ": p_differ, "p_equivalent": p_equivalent}


def holm(p_values, alpha=ALPHA):
    """Holm's step-down (1979): which hypotheses are rejected with family-wise error ``alpha``. ``p_values``:
    hypotheses along the first axis, independent families along the others."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, axis=0, kind="stable")
    thresholds = alpha / (len(p) - np.arange(len(p))).reshape(-1, *[1] * (p.ndim - 1))
    passed = np.logical_and.accumulate(np.take_along_axis(p, order, axis=0) <= thresholds, axis=0)
    rejected = np.zeros_like(passed)
    np.put_along_axis(rejected, order, passed, axis=0)
    return rejected


def decide(pairs, margin, sizes, max_seeds, alpha=ALPHA, earlier=None):
    """Decisions for the pairs of one setup at the last look their seeds reach. ``pairs``: {name: paired
    differences a - b}; ``earlier``: {name: (smallest p_differ, smallest p_equivalent) of the looks before}, so
    that a decision once made stays. Returns {name: ``look_statistics`` + "decision": "ahead" (a ahead of b),
    "behind", "equivalent" or "undecided", and "final": whether no look is left}."""
    earlier = earlier or {}
    rows = {name: look_statistics(d, margin, sizes, max_seeds, alpha) for name, d in pairs.items()}
    for name, row in rows.items():
        before = earlier.get(name, (1.0, 1.0))
        row["p_differ"] = np.minimum(row["p_differ"], before[0])
        row["p_equivalent"] = np.minimum(row["p_equivalent"], before[1])
    names = list(rows)
    differ = holm([rows[n]["p_differ"] for n in names], alpha)
    equivalent = holm([rows[n]["p_equivalent"] for n in names], alpha)
    for name, is_different, is_equivalent in zip(names, differ, equivalent):
        row = rows[name]
        row["decision"] = np.where(is_different, np.where(row["difference"] > 0, "ahead", "behind"),
                                   np.where(is_equivalent, "equivalent", "undecided"))
        row["final"] = row["seeds"] >= sizes[-1]
        if row["decision"].ndim == 0:  # one sequence: plain numbers
            rows[name] = {k: v.item() if isinstance(v, (np.ndarray, np.generic)) else v for k, v in row.items()}
    return rows


def decide_over_looks(pairs, margin, sizes, max_seeds, alpha=ALPHA):
    """Every planned look the pairs' seeds reach, in order, each deciding with the looks before it, as the
    workflow's decision files chain them. ``pairs``: {name: paired differences, one a seed along the last axis}.
    Returns the last look's ``decide`` rows and the seeds at the first look where every pair was decided (the
    last look's where none was), per study along the leading axes."""
    reached = [n for n in sizes if n <= min(np.shape(d)[-1] for d in pairs.values())]
    earlier, decided_at = None, 0
    for n in reached:
        rows = decide({name: np.asarray(d, dtype=np.float64)[..., :n] for name, d in pairs.items()}, margin, sizes,
                      max_seeds, alpha, earlier)
        earlier = {name: (row["p_differ"], row["p_equivalent"]) for name, row in rows.items()}
        every = np.all([np.asarray(row["decision"]) != "undecided" for row in rows.values()], axis=0)
        decided_at = np.where((decided_at == 0) & every, n, decided_at)
    decided_at = np.where(decided_at == 0, reached[-1], decided_at)
    return rows, decided_at.item() if decided_at.ndim == 0 else decided_at


def _first_n(power_at, start, most):
    """The smallest n from ``start`` (a normal approximation's estimate, stepped back) with power_at(n) >= POWER."""
    n = max(2, int(start) - 2)
    while n <= most:
        if power_at(n) >= POWER:
            return n
        n += 1
    return None


def seeds_for_power(difference, std, alpha=ALPHA, most=10_000):
    """Seeds a fixed-size paired t test at ``alpha`` needs to find ``difference`` with 80% power, the paired
    differences' std being ``std`` (noncentral t); None when the difference is 0 or more than ``most`` needed."""
    if not difference:
        return None
    if not std:
        return 2
    effect = abs(difference) / std
    start = ((stats.norm.isf(alpha / 2) + stats.norm.ppf(POWER)) / effect) ** 2
    return _first_n(lambda n: stats.nct.sf(stats.t.isf(alpha / 2, n - 1), n - 1, effect * math.sqrt(n)), start, most)


def seeds_for_equivalence(difference, std, margin, alpha=ALPHA, most=10_000):
    """Seeds two one-sided paired t tests at ``alpha`` need to show |true difference| < ``margin`` with 80%
    power if the true difference is ``difference`` (noncentral t); None if it lies on or outside the margin."""
    if abs(difference) >= margin:
        return None
    if not std:
        return 2

    def power_at(n):
        # both one-sided tests reject: T_low > critical and T_high < -critical (their overlap is negligible)
        df, scale, critical = n - 1, math.sqrt(n) / std, stats.t.isf(alpha, n - 1)
        return (stats.nct.sf(critical, df, (difference + margin) * scale)
                - stats.nct.sf(-critical, df, (difference - margin) * scale))

    start = ((stats.norm.isf(alpha) + stats.norm.isf((1 - POWER) / 2)) * std / (margin - abs(difference))) ** 2
    return _first_n(power_at, start, most)
