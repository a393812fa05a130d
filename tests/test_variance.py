"""Where the spread comes from (actviz/variance.py): the crossed table's split recovers each source it is given, and
its intervals hold the true variance as often as they promise, measured on thousands of synthetic tables (seeded)."""

import numpy as np
import pytest

from actviz.variance import binomial_variance, mean_squares, seed_variances, variance_split

TABLES = 2000  # synthetic tables a case: the Monte-Carlo error of a 95% coverage is 0.5 points
SOURCES = ("initialisation", "batch order", "interaction")


def synthetic_table(rng, rows, columns, init_std, order_std, rest_std):
    return (0.85 + rng.normal(0, init_std, (rows, 1)) + rng.normal(0, order_std, (1, columns))
            + rng.normal(0, rest_std, (rows, columns)))


def test_a_table_that_varies_only_by_initialisation_is_all_initialisation():
    table = np.array([[0.80] * 3, [0.82] * 3, [0.84] * 3])
    split = variance_split(table, 1000)
    assert split["initialisation"][0] == pytest.approx(np.var([0.80, 0.82, 0.84], ddof=1))
    assert split["batch order"][0] == pytest.approx(0, abs=1e-15)
    assert split["interaction"][0] == pytest.approx(0, abs=1e-15)
    low, high = split["initialisation"][1]
    assert 0 < low < split["initialisation"][0] < high


def test_a_table_that_varies_only_by_batch_order_is_all_batch_order():
    split = variance_split(np.array([[0.80, 0.83]] * 4), 1000)
    assert split["batch order"][0] == pytest.approx(np.var([0.80, 0.83], ddof=1))
    assert split["initialisation"][0] == pytest.approx(0, abs=1e-15)
    assert split["interaction"][0] == pytest.approx(0, abs=1e-15)


def test_mean_squares_add_up_to_the_total_sum_of_squares():
    table = synthetic_table(np.random.default_rng(3), 4, 3, 0.01, 0.005, 0.004)
    (ms_init, ms_order, ms_rest), (df_init, df_order, df_rest) = mean_squares(table)
    total = np.sum((table - table.mean()) ** 2)
    assert ms_init * df_init + ms_order * df_order + ms_rest * df_rest == pytest.approx(total)
    assert (df_init, df_order, df_rest) == (3, 2, 6)


def test_a_table_without_two_of_each_seed_is_refused():
    with pytest.raises(ValueError, match="two or more"):
        seed_variances(np.ones((1, 3)))


def test_the_test_image_part_is_binomial_and_its_interval_holds_it():
    estimate, (low, high) = binomial_variance(0.9, 1000)
    assert estimate == pytest.approx(0.9 * 0.1 / 1000)
    assert low < estimate < high
    # p(1 - p) peaks at 1/2: an interval of p around 1/2 reaches the peak
    assert binomial_variance(0.5, 100)[1][1] == pytest.approx(0.25 / 100)


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (4, 3)])
@pytest.mark.parametrize("stds", [(0.01, 0.005, 0.004), (0.0, 0.01, 0.005), (0.007, 0.007, 0.007),
                                  (0.003, 0.0, 0.008)])
def test_the_intervals_hold_the_true_variances_at_their_level(shape, stds):
    rng = np.random.default_rng(hash((shape, stds)) % 2 ** 32)
    held = dict.fromkeys(SOURCES, 0)
    for _ in range(TABLES):
        split = seed_variances(synthetic_table(rng, *shape, *stds))
        for source, std in zip(SOURCES, stds):
            low, high = split[source][1]
            held[source] += low <= std ** 2 <= high
    # 95% intervals, approximate (modified large-sample) for the two differences of mean squares: at least 93%
    # over 2,000 tables, 4 Monte-Carlo errors below 95%
    assert min(held.values()) / TABLES >= 0.93, held


def test_the_estimates_recover_the_true_variances_on_average():
    rng = np.random.default_rng(11)
    stds = (0.01, 0.006, 0.004)
    estimates = np.array([[seed_variances(synthetic_table(rng, 3, 3, *stds))[s][0] for s in SOURCES]
                          for _ in range(TABLES)])
    # truncation at 0 biases a small component up a little; within 15% of each true variance
    assert estimates.mean(axis=0) == pytest.approx(np.square(stds), rel=0.15)
