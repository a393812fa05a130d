"""Seeds until decided: a group-sequential comparison of activations, paired over seeds, that may look at the
data after every batch of seeds and still holds its error rates over all the looks and all of a setup's pairs.
Pure numpy/scipy.

The design (``sequential_study`` runs it, look by look, with the workflow's own stopping):
- Looks: after ``actviz.looks.look_sizes(first, max_seeds)`` seeds (3 -> 5 -> 8, ...). A pair's information at a
  look is its finite seeds (both activations finished; a diverged seed is NaN and left out) over ``max_seeds``; a
  pair that lost a seed keeps its looks at the fractions it reached, and a look that adds none of its seeds is no
  new test of it.
- Boundaries: Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70:659,
  alpha spending with the O'Brien-Fleming-type function alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)), which allows
  fractions nobody planned; the last planned look spends what is left of alpha whatever its fraction (Jennison &
  Turnbull 2000, "Group Sequential Methods with Applications to Clinical Trials", sec. 7.2). The two-sided critical
  values c_1..c_K of the standardised statistic follow by the recursive numerical integration of Armitage,
  McPherson & Rowe (1969), as Jennison & Turnbull (2000) ch. 19 give it.
- Repeated confidence intervals (Jennison & Turnbull 1989, JRSS B 51:305; 2000, ch. 9): at look k the interval
  mean +- c_k se holds the true difference at every look at once with probability 1 - alpha. With seeds the se is
  estimated: c_k is used at its nominal level through the t distribution with n_k - 1 degrees of freedom
  (Jennison & Turnbull 2000, sec. 3.8 and 9.4). Every seed giving the same difference is no spread to test
  against: such a pair is not ahead (equivalent only if every difference is 0).
- Two hypotheses a pair: "they differ" (the interval at level alpha excludes 0) and "they are within +-margin"
  (the interval at level 2 alpha lies inside it: two one-sided tests at alpha each, Schuirmann 1987, repeated as
  Jennison & Turnbull 2000 ch. 6 do). Repeated p-values (the smallest alpha whose boundary the look's statistic
  meets, Jennison & Turnbull 2000, sec. 9.5) of the look at hand go through a step-down across all of a setup's
  pairs and both kinds of claim at once: Holm (1979) with Shaffer's (1986, JASA 81:826, method 1) logical
  restriction that a pair's two null hypotheses (no difference; a difference beyond the margin) cannot both be
  true, so the chance of any false claim in a setup, of either kind, is at most alpha.
- Decided is final: a pair whose hypothesis is rejected at a look is decided there, its statistics frozen; later
  looks, trained for other pairs, do not test it again. The study stops once every pair is decided.
  ``tests/test_sequential.py`` measures the error rates of exactly this rule.
"""

import functools
import math

import numpy as np
from scipy import optimize, special, stats

ALPHA = 0.05
POWER = 0.8  # of "how many seeds would decide it"
_GRID = 401  # points of the numerical integration a look (Simpson's rule): boundaries within 1e-4
# The levels repeated p-values are read off between (log-linear): the step-down's thresholds (alpha / t, and twice
# that for the one-sided tests of equivalence) are among them, so that p <= threshold is exactly the boundary's test.
_MOST_HYPOTHESES = 40
_ALPHAS = np.unique(np.concatenate([np.geomspace(1e-6, 0.999, 80),
                                    [k * ALPHA / t for t in range(1, _MOST_HYPOTHESES + 1) for k in (1, 2)]]))
# The statistics of a pair at a look (``look_statistics``), kept frozen once it is decided.
STATISTICS = ("seeds", "difference", "paired_std", "ci_low", "ci_high", "equivalence_low", "equivalence_high",
              "p_differ", "p_equivalent", "zero_spread")


def obrien_fleming_spending(t, alpha):
    """Lan-DeMets' O'Brien-Fleming-type spending function: the error spent by information fraction ``t``."""
    return 2 - 2 * special.ndtr(stats.norm.ppf(1 - alpha / 2) / np.sqrt(t))


def _simpson_weights(n, h):
    weights = np.ones(n)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    return weights * h / 3


def _normal_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@functools.lru_cache(maxsize=1024)
def boundaries(fractions, alpha, spend_all=False):
    """Two-sided critical values c_k of the standardised statistic Z_k at information ``fractions`` (increasing, at
    most 1) so that, with no true difference, P(|Z_k| >= c_k at some look) is what ``obrien_fleming_spending``
    allows by each look, and ``alpha`` by the last with ``spend_all`` (the last planned look, reached with less
    information than planned). Z_k = S_k / sqrt(t_k) for the score S with independent Gaussian increments of
    variance t_k - t_{k-1}; its density on the continuation region is carried look to look on a grid (Jennison &
    Turnbull 2000, ch. 19)."""
    spending = obrien_fleming_spending(np.asarray(fractions, dtype=float), alpha)
    if spend_all:
        spending[-1] = alpha
    spent = np.diff(spending, prepend=0.0)
    critical, carried, previous = [], None, 0.0  # carried: (grid, Simpson weights x density) of the last look
    for t, spend in zip(fractions, spent):
        sd = math.sqrt(t - previous)
        c = (optimize.brentq(_crossing, 1e-6, 40.0, args=(t, sd, carried, spend), xtol=1e-10)
             if spend > 1e-15 else 40.0)
        critical.append(c)
        grid = np.linspace(-c * math.sqrt(t), c * math.sqrt(t), _GRID)
        if carried is None:
            density = _normal_pdf(grid / sd) / sd
        else:
            density = (_normal_pdf((grid[:, None] - carried[0][None, :]) / sd) / sd) @ carried[1]
        carried, previous = (grid, _simpson_weights(_GRID, grid[1] - grid[0]) * density), t
    return tuple(critical)


def _crossing(c, t, sd, carried, spend):
    """P(the score crosses +-c sqrt(t) at this look and not before), from the last look's ``carried`` density,
    less the error ``spend`` allowed there (brentq's root is the boundary)."""
    bound = c * math.sqrt(t)
    if carried is None:
        return 2 * special.ndtr(-bound / sd) - spend
    grid, mass = carried
    return float(np.sum(mass * (special.ndtr((grid - bound) / sd) + special.ndtr((-bound - grid) / sd)))) - spend


def _nominal_z(t_stat, df):
    """The standard normal quantile of a t statistic's one-sided tail: the boundary's nominal level on the t."""
    return stats.norm.isf(stats.t.sf(np.abs(t_stat), df))


def _t_critical(c, df):
    return float(stats.t.isf(stats.norm.sf(c), df))


@functools.lru_cache(maxsize=256)
def _boundary_column(fractions, spend_all):
    """The last look's c_k at every level of ``_ALPHAS``, for reading repeated p-values off."""
    return np.array([boundaries(fractions, float(a), spend_all)[-1] for a in _ALPHAS])


def repeated_p_value(z, fractions, spend_all=False):
    """The smallest alpha at which |Z| = ``z`` (an array) crosses the boundary of the last of ``fractions``' looks:
    a p-value valid whatever look it is read at (log-linear between the tabulated levels, 1e-6 at least)."""
    column = _boundary_column(tuple(fractions), spend_all)  # decreasing in alpha
    p = np.exp(np.interp(-np.asarray(z, dtype=np.float64), -column, np.log(_ALPHAS)))
    return np.where(np.asarray(z) <= column[-1], 1.0, p)


def look_statistics(differences, margin, fractions, spend_all=False, alpha=ALPHA):
    """Paired differences (a - b, one a seed along the last axis, NaN for a diverged seed; every leading entry with
    as many finite ones) tested at the last of ``fractions``' looks: the finite seeds, the mean, the paired std,
    the repeated confidence intervals at 1 - alpha (differ) and 1 - 2 alpha (equivalence), the repeated p-values of
    "a and b differ" and "a and b are within +-margin", and whether every seed gave the same difference."""
    d = np.asarray(differences, dtype=np.float64)
    n = np.isfinite(d).sum(axis=-1)
    if np.any(n != n.flat[0]) or n.flat[0] < 2:
        raise ValueError("look_statistics: every sequence needs as many finite seeds, two or more")
    n = int(n.flat[0])
    mean, std = np.nanmean(d, axis=-1), np.nanstd(d, axis=-1, ddof=1)
    se, df = std / math.sqrt(n), n - 1
    half = _t_critical(boundaries(fractions, alpha, spend_all)[-1], df) * se
    half_equivalence = _t_critical(boundaries(fractions, 2 * alpha, spend_all)[-1], df) * se
    spread = se > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p_differ = np.where(spread, repeated_p_value(_nominal_z(mean / se, df), fractions, spend_all), 1.0)
        # each one-sided test at alpha is half the two-sided design at 2 alpha
        one_sided = [np.where(t > 0, repeated_p_value(_nominal_z(t, df), fractions, spend_all) / 2, 1.0)
                     for t in ((mean + margin) / se, (margin - mean) / se)]
    # no spread: nothing to test against, equivalent only when every difference is exactly 0
    p_equivalent = np.where(spread, np.maximum(*one_sided), np.where(mean == 0, 0.0, 1.0))
    return {"seeds": np.full(mean.shape, n), "difference": mean, "paired_std": std,
            "ci_low": mean - half, "ci_high": mean + half,
            "equivalence_low": mean - half_equivalence, "equivalence_high": mean + half_equivalence,
            "p_differ": p_differ, "p_equivalent": p_equivalent, "zero_spread": ~spread}


def step_down(p_differ, p_equivalent, alpha=ALPHA):
    """Which hypotheses are rejected, with the chance of rejecting any true one at most ``alpha``: Holm's (1979)
    step-down over both hypotheses of every pair (pairs along the first axis, independent setups along the others),
    the i-th smallest p-value (from 0) against alpha / min(m, 2m - i), m pairs: Shaffer's (1986) method 1, as at
    most one of a pair's two null hypotheses is true. Returns (differ rejected, equivalent rejected)."""
    p = np.concatenate([np.asarray(p_differ, dtype=np.float64), np.asarray(p_equivalent, dtype=np.float64)])
    pairs = len(p) // 2
    order = np.argsort(p, axis=0, kind="stable")
    steps = np.arange(len(p))
    thresholds = (alpha / np.minimum(pairs, 2 * pairs - steps)).reshape(-1, *[1] * (p.ndim - 1))
    passed = np.logical_and.accumulate(np.take_along_axis(p, order, axis=0) <= thresholds, axis=0)
    rejected = np.zeros_like(passed)
    np.put_along_axis(rejected, order, passed, axis=0)
    return rejected[:pairs], rejected[pairs:]


def sequential_study(differences, margin, sizes, max_seeds, alpha=ALPHA):
    """The workflow's rule, look by look, for the pairs of one setup. ``differences``: {pair: paired differences
    a - b}, one a seed along the last axis in the planned order (NaN where either run diverged), the same shape
    for every pair; leading axes are independent studies (the simulation tests draw thousands at once). Each look
    the seeds reach (``sizes``: seeds at each planned look) tests every undecided pair that gained a finite seed
    (three or more; two with one look, the plain paired t), steps down across all pairs, decides and freezes the
    rejected ones, and stops the study once every pair is decided. Returns ({pair: the ``STATISTICS`` of its
    deciding or last test, "decision" ("ahead": a ahead of b, "behind", "equivalent", "undecided"),
    "within_margin" (ahead or behind, and within the margin too), "decided_look" (0-based, -1 undecided), "look"
    (its last test, -1 none), "final" (no look left)}, {"stopped_at": the look the study stopped at, "seeds": its
    seeds then})."""
    names = list(differences)
    d = np.stack([np.asarray(differences[name], dtype=np.float64) for name in names])
    reached = [k for k, n in enumerate(sizes) if n <= d.shape[-1]]
    if not reached:
        raise ValueError(f"sequential_study: {d.shape[-1]} seeds reach no planned look {sizes}")
    state = _Study(d, len(sizes), max_seeds, margin, alpha)
    for k in reached:
        state.look(k, sizes[k])
    state.stopped_at = np.where(state.going, reached[-1], state.stopped_at)  # still going at the last look reached
    rows, studies = {}, int(np.prod(d.shape[1:-1], dtype=int))
    for i, name in enumerate(names):
        row = {key: values[i * studies:(i + 1) * studies].reshape(d.shape[1:-1])
               for key, values in state.values.items()}
        row["final"] = state.stopped_at == len(sizes) - 1
        rows[name] = _plain(row) if d.ndim == 2 else row
    study = {"stopped_at": state.stopped_at, "seeds": np.asarray(sizes)[state.stopped_at]}
    return rows, _plain(study) if d.ndim == 2 else study


class _Study:
    """The state of ``sequential_study``'s sequences (pairs x studies, flattened) between looks."""

    def __init__(self, differences, looks, max_seeds, margin, alpha):
        self.shape, self.flat = differences.shape[:-1], differences.reshape(-1, differences.shape[-1])
        self.looks, self.max_seeds, self.margin, self.alpha = looks, max_seeds, margin, alpha
        count = len(self.flat)
        self.values = {key: np.full(count, np.nan) for key in STATISTICS}
        self.values.update(seeds=np.zeros(count, dtype=int), zero_spread=np.zeros(count, dtype=bool),
                           p_differ=np.ones(count), p_equivalent=np.ones(count),
                           decision=np.full(count, "undecided", dtype=object), within_margin=np.zeros(count, bool),
                           decided_look=np.full(count, -1), look=np.full(count, -1))
        self.history = [()] * count  # the information fractions each sequence was tested at
        self.going = np.ones(self.shape[1:], dtype=bool)
        self.stopped_at = np.full(self.shape[1:], looks - 1)
        # a look at two seeds tests a t with 1 degree of freedom, whose nominal level the later looks do not hold (3
        # equal activations, looks 2, 3, 5, 6: 6.2% any false ahead): with looks, a pair is tested from three seeds
        self.least = 2 if looks == 1 else 3

    def look(self, k, seeds):
        """Look ``k`` (0-based) at the first ``seeds`` seeds: test, step down, decide, stop what is decided."""
        values = self.values
        count = np.isfinite(self.flat[:, :seeds]).sum(axis=1)
        active = np.broadcast_to(self.going, self.shape).reshape(-1)
        tested = active & (values["decision"] == "undecided") & (count >= self.least) & (count > values["seeds"])
        groups = {}
        for e in np.flatnonzero(tested):
            self.history[e] = (*self.history[e], count[e] / self.max_seeds)
            groups.setdefault(self.history[e], []).append(e)
        for fractions, members in groups.items():
            result = look_statistics(self.flat[members, :seeds], self.margin, fractions, k == self.looks - 1,
                                     self.alpha)
            for key in STATISTICS:
                values[key][members] = result[key]
        values["look"][tested] = k
        differ, equivalent = (r.reshape(-1) for r in step_down(values["p_differ"].reshape(self.shape),
                                                                 values["p_equivalent"].reshape(self.shape),
                                                                 self.alpha))
        new = active & (values["decision"] == "undecided") & (differ | equivalent)
        values["decision"][new] = np.where(differ, np.where(values["difference"] > 0, "ahead", "behind"),
                                           "equivalent")[new]
        values["within_margin"][new], values["decided_look"][new] = (differ & equivalent)[new], k
        every = (values["decision"].reshape(self.shape) != "undecided").all(axis=0)
        self.stopped_at = np.where(self.going & every, k, self.stopped_at)
        self.going = self.going & ~every


def _plain(row):
    """One study's row as plain Python numbers."""
    return {key: value.item() if isinstance(value, (np.ndarray, np.generic)) else value for key, value in row.items()}


def decide(pairs, margin, sizes, max_seeds, alpha=ALPHA):
    """``sequential_study`` of one setup's pairs, its rows only: {pair: decision and statistics}."""
    return sequential_study(pairs, margin, sizes, max_seeds, alpha)[0]


def _first_n(power_at, most):
    """The smallest n from 2 with power_at(n) >= POWER (power grows with n: doubling, then bisection), None beyond
    ``most``."""
    high = 2
    while power_at(high) < POWER:
        if high >= most:
            return None
        high = min(most, 2 * high)
    low = high // 2  # below POWER, unless high is 2
    if high == 2:
        return 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if power_at(middle) >= POWER else (middle, high)
    return high


def seeds_for_power(difference, std, alpha=ALPHA, most=10_000):
    """Seeds a fixed-size paired t test at ``alpha`` needs to find ``difference`` with 80% power, the paired
    differences' std being ``std`` (noncentral t); None when either is 0 or not finite, or more than ``most`` are
    needed."""
    if not difference or not std or not np.isfinite(difference * std):  # no spread: nothing to size it by
        return None
    effect = abs(difference) / std
    return _first_n(lambda n: stats.nct.sf(stats.t.isf(alpha / 2, n - 1), n - 1, effect * math.sqrt(n)), most)


def seeds_for_equivalence(difference, std, margin, alpha=ALPHA, most=10_000):
    """Seeds two one-sided paired t tests at ``alpha`` need to show |true difference| < ``margin`` with 80%
    power if the true difference is ``difference`` (noncentral t); None if it lies on or outside the margin, or
    without a finite spread."""
    if not abs(difference) < margin or not std or not np.isfinite(std):
        return None

    def power_at(n):
        # both one-sided tests reject: T_low > critical and T_high < -critical (their overlap is negligible)
        df, scale, critical = n - 1, math.sqrt(n) / std, stats.t.isf(alpha, n - 1)
        return (stats.nct.sf(critical, df, (difference + margin) * scale)
                - stats.nct.sf(-critical, df, (difference - margin) * scale))

    return _first_n(power_at, most)
