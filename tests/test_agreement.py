"""Churn, the prediction difference and calibration (actviz.agreement): against hand-made cases, properties any
two runs must satisfy, and the coverage of the interval over seed pairs."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from actviz import agreement


def _one_hot(classes, count=4):
    return np.eye(count)[classes]


def test_churn_counts_the_images_two_runs_predict_differently():
    assert agreement.churn([0, 1, 2, 3], [0, 1, 2, 3]) == 0
    assert agreement.churn([0, 1, 2, 3], [1, 1, 2, 0]) == 0.5
    assert agreement.churn([0, 0], [1, 1]) == 1


def test_the_prediction_difference_is_the_mean_total_variation_between_probabilities():
    a = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    b = np.array([[0.5, 0.0, 0.5], [1.0, 0.0, 0.0]])
    assert agreement.prediction_difference(a, b) == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert agreement.prediction_difference(_one_hot([0, 1]), _one_hot([2, 3])) == 1


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[arrays(np.int64, 30, elements=st.integers(0, 3))] * 3))
def test_two_runs_disagree_at_least_as_much_as_their_accuracies_differ(classes):
    a, b, labels = classes
    least = agreement.least_churn(a, b, labels)
    assert 0 <= least <= agreement.churn(a, b) + 1e-12 <= 1 + 1e-12
    # one-hot probabilities: the prediction difference is the churn
    assert agreement.prediction_difference(_one_hot(a), _one_hot(b)) == pytest.approx(agreement.churn(a, b))


def test_calibration_error_by_hand():
    # confidences 0.9 (right), 0.9 (wrong), 0.55 (right): bins (13/15, 14/15] and (8/15, 9/15]
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.45, 0.55]])
    labels = np.array([0, 1, 1])
    expected = (2 / 3) * abs(0.5 - 0.9) + (1 / 3) * abs(1 - 0.55)
    assert agreement.calibration_error(probabilities, labels) == pytest.approx(expected)
    images, confidence, accuracy = agreement.reliability(probabilities, labels)
    assert images.sum() == 3 and images[13] == 2 and images[8] == 1
    assert confidence[13] == pytest.approx(0.9) and accuracy[13] == 0.5 and np.isnan(accuracy[0])


def test_calibration_error_of_many_runs_at_once_is_each_runs_own():
    rng = np.random.default_rng(5)
    probabilities = rng.dirichlet(np.ones(4), (3, 2, 50))
    labels = rng.integers(0, 4, (3, 2, 50))
    together = agreement.calibration_error(probabilities, labels)
    assert together.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert together[i, j] == pytest.approx(agreement.calibration_error(probabilities[i, j], labels[i, j]))
    images, _, _ = agreement.reliability(probabilities, labels)
    assert images.shape == (3, 2, agreement.BINS) and (images.sum(axis=-1) == 50).all()


def test_a_calibrated_model_reads_near_zero_and_an_overconfident_one_its_gap():
    rng = np.random.default_rng(0)
    images = 20_000
    confidence = rng.uniform(0.5, 1.0, images)  # the top label: class 0
    labels = np.zeros(images, dtype=int)
    right = rng.uniform(size=images) < confidence  # right exactly as often as it is confident
    probabilities = np.column_stack([confidence, 1 - confidence, np.zeros(images)])
    labels[~right] = 2
    assert agreement.calibration_error(probabilities, labels) < 0.02
    wrong_more = rng.uniform(size=images) < confidence - 0.2  # 20 points less often right than confident
    labels = np.where(wrong_more, 0, 2)
    assert agreement.calibration_error(probabilities, labels) == pytest.approx(0.2, abs=0.03)


def _predictions(predicted, probabilities, labels):
    return {"predicted": np.asarray(predicted), "probabilities": np.asarray(probabilities),
            "labels": np.asarray(labels)}


def test_pair_rows_take_every_two_seeds_once():
    labels = [0, 1, 2, 3]
    predicted = {0: [0, 1, 2, 3], 1: [0, 1, 2, 0], 2: [0, 1, 3, 3]}
    runs = {s: _predictions(p, _one_hot(p), labels) for s, p in predicted.items()}
    rows = {(r["seed_a"], r["seed_b"]): r for r in agreement.pair_rows(runs)}
    assert set(rows) == {(0, 1), (0, 2), (1, 2)}
    assert rows[0, 1]["churn"] == 0.25 and rows[0, 1]["least_churn"] == 0.25 and rows[0, 1]["excess_churn"] == 0
    assert rows[0, 2]["churn"] == 0.25 and rows[0, 2]["least_churn"] == 0.25
    # equally accurate, wrong on different images: all of their churn is excess
    assert rows[1, 2]["churn"] == 0.5 and rows[1, 2]["least_churn"] == 0 and rows[1, 2]["excess_churn"] == 0.5
    runs[2]["labels"] = np.array([3, 2, 1, 0])
    with pytest.raises(ValueError, match="different test images"):
        agreement.pair_rows(runs)


def test_seeds_are_taken_two_at_a_time_into_pairs_that_share_none():
    assert agreement.disjoint_pairs([3, 1, 4, 0, 2]) == [(3, 1), (4, 0)]
    assert agreement.disjoint_pairs([7]) == []


@pytest.mark.parametrize("seeds", [3, 5, 8])
def test_the_interval_over_seed_pairs_covers_the_mean_though_pairs_share_seeds(seeds):
    # churn of seeds a, b = mean + u_a + u_b + noise: a seed's own effect is shared by all its pairs
    rng, studies, hits, naive = np.random.default_rng(seeds), 1500, 0, 0
    for _ in range(studies):
        effect = rng.normal(0, 0.004, seeds)
        values = {(a, b): 0.05 + effect[a] + effect[b] + rng.normal(0, 0.002)
                  for a, b in itertools.combinations(range(seeds), 2)}
        mean, low, high = agreement.over_seed_pairs(values)
        hits += low <= 0.05 <= high
        pairs = np.array(list(values.values()))  # as if the pairs were independent
        half = 1.96 * pairs.std(ddof=1) / np.sqrt(len(pairs))
        naive += mean - half <= 0.05 <= mean + half
    # measured: 95.8% (3 seeds), 95.5% (5), 94.5% (8); 1,500 studies: a Monte-Carlo error of 0.6 points
    assert hits / studies >= 0.93
    assert naive / studies < 0.85  # the reason to resample seeds


def test_fewer_than_three_seeds_give_a_mean_without_an_interval():
    mean, low, high = agreement.over_seed_pairs({(0, 1): 0.04})
    assert mean == 0.04 and np.isnan(low) and np.isnan(high)


def test_churn_of_a_crossed_design_splits_by_what_two_runs_share():
    cells = {"a": (0, 0), "b": (0, 1), "c": (1, 0), "d": (1, 1)}
    values = {(x, y): {("a", "b"): 0.1, ("c", "d"): 0.3, ("a", "c"): 0.2, ("b", "d"): 0.4, ("a", "d"): 0.5,
                       ("b", "c"): 0.7}[x, y] for x, y in itertools.combinations("abcd", 2)}
    split = agreement.crossed_sources(values, cells)
    assert split["same initialisation"] == (pytest.approx(0.2), 2)  # a-b, c-d: one init, two orders
    assert split["same batch order"] == (pytest.approx(0.3), 2)
    assert split["neither"] == (pytest.approx(0.6), 2)
