"""Where the spread comes from (actviz/variance.py): the crossed table's split, with every run's per-image results,
counts each source once; on synthetic tables with per-image outcomes and known components each estimate is unbiased
within its Monte-Carlo error, each interval holds the truth about as often as it promises, and the largest source is
named right, measured over hundreds of tables (seeded)."""

import numpy as np
import pytest

from actviz.variance import SOURCES, image_components, mean_squares, variance_split

IMAGES = 2000  # the sample's test split
TABLES = 600  # synthetic tables a case: the Monte-Carlo error of a 95% coverage is 0.9 points


def synthetic(rng, rows, stds, certain=(0.1, 0.6), spread=(0.25, 0.75), columns=None):
    """A crossed table and its per-image results [I, J, images]. Each test image is always wrong, always right (the
    ``certain`` shares), or right at a rate uniform in ``spread``; a run (i, j) moves the uncertain images' rates by
    a_i + b_j + ab_ij (normal, ``stds``) and gets each image right or wrong independently at its rate."""
    columns = columns or rows
    kind = rng.choice(3, IMAGES, p=[certain[0], certain[1], 1 - sum(certain)])
    rate = np.where(kind == 0, 0.0, np.where(kind == 1, 1.0, rng.uniform(*spread, IMAGES)))
    effect = (rng.normal(0, stds[0], (rows, 1)) + rng.normal(0, stds[1], (1, columns))
              + rng.normal(0, stds[2], (rows, columns)))
    correct = rng.random((rows, columns, IMAGES)) < np.clip(rate + effect[..., None] * (kind == 2), 0, 1)
    return correct.mean(axis=-1), correct


def truth(stds, certain=(0.1, 0.6), spread=(0.25, 0.75)):
    """Each source's variance in ``synthetic``'s model: a run effect moves the accuracy by its size times the share
    of uncertain images; image noise E[m(1 - m)] / n; another test draw Var(m) / n."""
    uncertain, (low, high) = 1 - sum(certain), spread
    mean_u, var_u = (low + high) / 2, (high - low) ** 2 / 12
    mean = certain[1] + uncertain * mean_u
    second = certain[1] + uncertain * (var_u + mean_u ** 2)
    return dict(zip(SOURCES, [stds[0] ** 2 * uncertain ** 2, stds[1] ** 2 * uncertain ** 2,
                              stds[2] ** 2 * uncertain ** 2, uncertain * (mean_u - var_u - mean_u ** 2) / IMAGES,
                              (second - mean ** 2) / IMAGES]))


def test_mean_squares_add_up_to_the_total_sum_of_squares():
    table, _ = synthetic(np.random.default_rng(3), 4, (0.02, 0.01, 0.005), columns=3)
    (ms_init, ms_order, ms_rest), (df_init, df_order, df_rest) = mean_squares(table)
    total = np.sum((table - table.mean()) ** 2)
    assert ms_init * df_init + ms_order * df_order + ms_rest * df_rest == pytest.approx(total)
    assert (df_init, df_order, df_rest) == (3, 2, 6)


def test_a_table_without_two_of_each_seed_is_refused():
    with pytest.raises(ValueError, match="two or more"):
        variance_split(np.ones((1, 3)), np.ones((1, 3, 10), bool))


def test_the_image_parts_add_up_to_the_binomial_variance_of_the_mean_accuracy():
    _, correct = synthetic(np.random.default_rng(4), 3, (0.0, 0.0, 0.0))
    (noise, _, _), (draw, _) = image_components(correct)
    p, rate = correct.mean(), correct.reshape(9, -1).mean(axis=0)
    # exactly p(1 - p) / n, but for the images' variance's small-sample correction
    assert noise + draw == pytest.approx((p * (1 - p) + ((rate - p) ** 2).mean() / (IMAGES - 1)) / IMAGES, rel=1e-9)
    assert noise + draw == pytest.approx(p * (1 - p) / IMAGES, rel=0.001)


def test_networks_that_agree_image_by_image_have_no_image_noise():
    # every run right on the same images: the accuracy would move only with another draw of images
    correct = np.broadcast_to(np.random.default_rng(5).random(IMAGES) < 0.85, (3, 3, IMAGES))
    split = variance_split(correct.mean(axis=-1), correct)
    assert split["image noise"].unbiased == 0 and split["interaction"].unbiased == pytest.approx(0, abs=1e-20)
    p = correct[0, 0].mean()
    assert split["another test draw"].unbiased == pytest.approx(p * (1 - p) / (IMAGES - 1))


def test_the_interaction_is_not_counted_again_as_image_noise():
    # no run effects at all: what the old split called interaction was the image noise, counted twice
    rng = np.random.default_rng(6)
    split = [variance_split(*synthetic(rng, 3, (0.0, 0.0, 0.0))) for _ in range(200)]
    interaction = np.mean([s["interaction"].unbiased for s in split])
    noise = np.mean([s["image noise"].unbiased for s in split])
    assert abs(interaction) < 0.15 * noise  # the old split: interaction ~ noise


CASES = {  # (run effect stds, shape): the case of a tiny interaction, and larger effects
    "a tiny interaction, 3 x 3": ((0.02, 0.01, 0.0067), 3),
    "a tiny interaction, 5 x 5": ((0.02, 0.01, 0.0067), 5),
    "initialisation and order, 3 x 3": ((0.03, 0.02, 0.01), 3),
    "interaction only, 3 x 3": ((0.0, 0.0, 0.02), 3),
}


@pytest.mark.parametrize("case", CASES)
def test_each_estimate_is_unbiased_and_each_interval_holds_the_truth_at_its_level(case):
    stds, shape = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    splits = [variance_split(*synthetic(rng, shape, stds)) for _ in range(TABLES)]
    for source, true in truth(stds).items():
        unbiased = np.array([s[source].unbiased for s in splits])
        # the mean of the unbiased estimates within 3 Monte-Carlo errors of the truth
        assert abs(unbiased.mean() - true) <= 3 * unbiased.std() / np.sqrt(TABLES), (source, unbiased.mean(), true)
        held = np.mean([s[source].low <= true <= s[source].high for s in splits])
        # 95% intervals (approximate: modified large-sample, Satterthwaite, normal); at least 91%, 4 Monte-Carlo
        # errors below 95%
        assert held >= 0.91, (source, held)


DOMINANT = {  # a source 4 times the next (or more), and the model that makes it so
    "initialisation": ((0.052, 0.005, 0.005), {}),
    "batch order": ((0.005, 0.052, 0.005), {}),
    "interaction": ((0.005, 0.005, 0.052), {}),
    "image noise": ((0.003, 0.003, 0.003), {"certain": (0.0, 0.0), "spread": (0.45, 0.55)}),
    "another test draw": ((0.003, 0.003, 0.003), {"certain": (0.2, 0.75)}),
}


@pytest.mark.parametrize("source", DOMINANT)
def test_the_largest_source_is_named_right_where_it_is_four_times_the_next(source):
    stds, model = DOMINANT[source]
    true = sorted(truth(stds, **model).values())
    assert true[-1] >= 4 * true[-2]
    rng = np.random.default_rng(sum(map(ord, source)))
    named = [max(SOURCES, key=lambda s, split=variance_split(*synthetic(rng, 6, stds, **model)): split[s].estimate)
             for _ in range(300)]
    # with 6 x 6 seeds; 5 x 5: 0.90-1.00, 3 x 3: 0.71-0.79 for the seed sources (the report says so)
    assert np.mean([n == source for n in named]) >= 0.9
