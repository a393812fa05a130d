"""Across datasets (actviz/improvement.py): the probability of improvement against a direct count and its closed form,
the mean rank, and how often the stratified bootstrap interval holds the true probability, measured on synthetic
studies (seeded)."""

import numpy as np
import pytest
from scipy import stats

from actviz.improvement import mean_ranks, probability_of_improvement, stratified_bootstrap

SEED_STD = 0.007  # one activation's seed-to-seed std of test accuracy (the tune study: 0.5-0.9 points)
STUDIES = 600  # synthetic studies a case: the Monte-Carlo error of a 95% coverage is 0.9 points


def test_probability_of_improvement_counts_the_pairs_of_seeds_a_tie_half():
    x, y = [[0.80, 0.82], [0.9]], [[0.81, 0.80, 0.79], [0.9, 0.95]]
    # dataset 1: of 6 pairs, 0.80 beats 0.79 and ties 0.80, 0.82 beats all three: 4.5 / 6; dataset 2: 0.5 / 2
    assert probability_of_improvement(x, y) == pytest.approx((4.5 / 6 + 0.25) / 2)


def test_the_probabilities_of_improvement_of_a_pair_add_up_to_one():
    rng = np.random.default_rng(2)
    x, y = [rng.normal(0.8, 0.01, 4).round(2) for _ in range(3)], [rng.normal(0.8, 0.01, 3).round(2) for _ in range(3)]
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1)


def test_with_many_seeds_it_reaches_the_closed_form_of_two_gaussians():
    rng = np.random.default_rng(4)
    x, y = [rng.normal(0.81, SEED_STD, 4000)], [rng.normal(0.80, SEED_STD, 4000)]
    assert probability_of_improvement(x, y) == pytest.approx(stats.norm.cdf(0.01 / (SEED_STD * np.sqrt(2))), abs=0.01)


def test_mean_ranks_average_each_datasets_ranks_ties_shared():
    means = [[0.90, 0.85, 0.80], [0.70, 0.75, 0.75]]
    assert mean_ranks(means) == pytest.approx([(1 + 3) / 2, (2 + 1.5) / 2, (3 + 1.5) / 2])


def test_the_bootstrap_is_seeded_and_its_interval_holds_the_estimate():
    rng = np.random.default_rng(5)
    x, y = [rng.normal(0.81, SEED_STD, 5) for _ in range(2)], [rng.normal(0.80, SEED_STD, 5) for _ in range(2)]
    low, high = stratified_bootstrap(x, y)
    assert (low, high) == stratified_bootstrap(x, y) and low <= probability_of_improvement(x, y) <= high


def _coverage(seeds, difference, datasets=3):
    rng = np.random.default_rng(seeds * 1000 + int(difference * 1e4))
    truth = stats.norm.cdf(difference / (SEED_STD * np.sqrt(2)))
    held = 0
    for study in range(STUDIES):
        x = [rng.normal(0.8 + difference, SEED_STD, seeds) for _ in range(datasets)]
        y = [rng.normal(0.8, SEED_STD, seeds) for _ in range(datasets)]
        low, high = stratified_bootstrap(x, y, resamples=1000, seed=study)
        held += low <= truth <= high
    return held / STUDIES


@pytest.mark.parametrize("difference", [0.0, 0.005, 0.01])
def test_with_eight_seeds_on_three_datasets_the_95_interval_holds_the_truth_about_as_often(difference):
    # measured: 94-96%; at least 91% (4 Monte-Carlo errors)
    assert _coverage(8, difference) >= 0.91


def test_with_three_seeds_the_interval_covers_less_than_its_level_as_the_report_says():
    # measured: 80% at a true P of 0.9 (0.0127 points apart; the report gives 92%, 90%, 80%, 31% at 0.5-0.98): a
    # percentile bootstrap of 3 seeds is too narrow
    coverage = _coverage(3, stats.norm.ppf(0.9) * SEED_STD * np.sqrt(2))
    assert 0.7 <= coverage < 0.9


def test_near_a_probability_of_one_with_few_seeds_the_interval_is_mostly_one_to_one_and_misses():
    # the reproduction: every run of the first beats every run of the second on every dataset
    assert stratified_bootstrap([[0.83, 0.84, 0.835]] * 3, [[0.80, 0.81, 0.82]] * 3) == (1.0, 1.0)
    truth, rng, held, ones = 0.98, np.random.default_rng(7), 0, 0
    difference = stats.norm.ppf(truth) * SEED_STD * np.sqrt(2)
    for study in range(300):
        x = [rng.normal(0.8 + difference, SEED_STD, 3) for _ in range(3)]
        y = [rng.normal(0.8, SEED_STD, 3) for _ in range(3)]
        low, high = stratified_bootstrap(x, y, resamples=1000, seed=study)
        held, ones = held + (low <= truth <= high), ones + (low == high == 1.0)
    # measured over 400 studies: 31% hold the truth, 69% are exactly [1, 1] (the report says both)
    assert held / 300 < 0.5 and ones / 300 > 0.5
