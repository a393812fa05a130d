"""Seeds until decided (actviz/sequential.py): the boundaries spend the error they promise, and the whole
sequential procedure holds its error rates, shown on thousands of synthetic studies (seeded, pure numpy/scipy)."""

import numpy as np
import pytest
from scipy import stats

from actviz import sequential
from actviz.looks import look_sizes, looks_problem, planned_looks

MARGIN = 0.01  # 1 point, the default equivalence_margin
SEQUENCES = 4000  # synthetic studies a case: the Monte-Carlo error of a 5% rate is 0.34 points
# The seed-to-seed std of one activation's test accuracy: 0.71 points, so the paired differences' std is 1 point
# (the tune study's relu - lrelu over 3 seeds: 0.9 points)
SEED_STD = 0.01 / np.sqrt(2)


def monte_carlo_bound(rate, n=SEQUENCES):
    """``rate`` plus twice its Monte-Carlo standard error over ``n`` sequences."""
    return rate + 2 * np.sqrt(rate * (1 - rate) / n)


def run_study(accuracies, sizes, max_seeds, margin=MARGIN):
    """The sequential procedure over synthetic studies: ``accuracies`` [activation, study, seed]. Returns each pair's
    decisions at the last look (decisions stay once made) and the seeds each study used."""
    pairs = [(a, b) for a in range(len(accuracies)) for b in range(a + 1, len(accuracies))]
    rows, used = sequential.decide_over_looks({p: accuracies[p[0]] - accuracies[p[1]] for p in pairs}, margin, sizes,
                                              max_seeds)
    return np.array([rows[p]["decision"] for p in pairs]), used


def synthetic(means, seed, max_seeds=8):
    rng = np.random.default_rng(seed)
    return np.asarray(means)[:, None, None] + rng.normal(0, SEED_STD, (len(means), SEQUENCES, max_seeds))


def test_looks_grow_from_the_first_seeds_to_max_seeds():
    assert look_sizes(3, 8) == [3, 5, 8]
    assert look_sizes(2, 8) == [2, 3, 5, 8]
    assert look_sizes(5, 6) == [5, 6]
    assert look_sizes(4, 4) == [4]


def test_the_seeds_given_come_first_and_the_smallest_unused_integers_follow():
    assert planned_looks([0, 1, 2], 8) == [[0, 1, 2], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6, 7]]
    assert planned_looks([5, 7], 4) == [[5, 7], [5, 7, 0], [5, 7, 0, 1]]
    assert planned_looks([0], 0) == [[0]] and planned_looks([0, 1, 2], 3) == [[0, 1, 2]]


@pytest.mark.parametrize("seeds, max_seeds, message", [
    ([0, 1, 2], 2, "max_seeds: 2 is below the 3 seeds given"),
    ([0], 8, "start from two or more seeds; seeds has 1"),
])
def test_looks_that_cannot_be_planned_are_named(seeds, max_seeds, message):
    assert message in looks_problem(seeds, max_seeds)
    assert looks_problem([0, 1, 2], 8) is None and looks_problem([0], 0) is None and looks_problem([0], 1) is None


def test_one_look_is_the_fixed_sample_test():
    assert sequential.boundaries((1.0,), 0.05) == pytest.approx((stats.norm.isf(0.025),), abs=1e-6)


@pytest.mark.parametrize("fractions", [(1 / 3, 2 / 3, 1.0), (3 / 8, 5 / 8, 1.0), (0.25, 0.375, 0.625, 1.0)])
def test_the_boundaries_spend_what_the_obrien_fleming_function_allows_at_each_look(fractions):
    critical = sequential.boundaries(fractions, 0.05)
    # Brownian motion at the looks, drawn directly: an independent check of the numerical integration
    rng = np.random.default_rng(0)
    steps = np.diff(fractions, prepend=0.0)
    score = np.cumsum(rng.normal(0, np.sqrt(steps), (400_000, len(fractions))), axis=1)
    crossed = np.abs(score / np.sqrt(fractions)) >= critical
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    spent = np.cumsum([np.mean(first == k) for k in range(len(fractions))])
    assert spent == pytest.approx(sequential.obrien_fleming_spending(np.array(fractions), 0.05), abs=0.0015)
    assert critical[0] > critical[-1] > stats.norm.isf(0.025)  # early looks stricter; the last above 1.96


def test_a_repeated_p_value_is_the_level_whose_boundary_it_meets():
    fractions = (3 / 8, 5 / 8, 1.0)
    for alpha in (0.001, 0.01, 0.05, 0.2):
        for look, c in enumerate(sequential.boundaries(fractions, alpha)):
            assert sequential.repeated_p_value(c, fractions, look) == pytest.approx(alpha, rel=0.02)


def test_holm_rejects_step_down_and_stops_at_the_first_failure():
    p = np.array([[0.01, 0.04], [0.03, 0.02], [0.2, 0.001]])
    assert sequential.holm(p).tolist() == [[True, True], [False, True], [False, True]]


def test_with_no_true_difference_a_pair_is_called_ahead_at_most_at_the_error_rate_over_every_look():
    decisions, _ = run_study(synthetic([0.85, 0.85], seed=1), look_sizes(3, 8), 8)
    wrong = np.isin(decisions[0], ["ahead", "behind"]).mean()
    assert wrong <= monte_carlo_bound(0.05), wrong


def test_with_three_equal_activations_holm_keeps_any_false_ahead_at_the_error_rate():
    decisions, _ = run_study(synthetic([0.85, 0.85, 0.85], seed=2), look_sizes(3, 8), 8)
    any_wrong = np.isin(decisions, ["ahead", "behind"]).any(axis=0).mean()
    assert any_wrong <= monte_carlo_bound(0.05), any_wrong


def test_a_true_difference_of_two_points_is_found_ahead_mostly_before_the_last_seed():
    decisions, used = run_study(synthetic([0.87, 0.85], seed=3), look_sizes(3, 8), 8)
    assert (decisions[0] == "ahead").mean() >= 0.95
    assert (decisions[0] == "behind").mean() == 0
    assert used.mean() < 7 and (used < 8).mean() >= 0.5  # looks stop early: most studies need fewer than 8 seeds


def test_a_true_difference_at_the_margin_is_called_equivalent_at_most_at_the_error_rate():
    decisions, _ = run_study(synthetic([0.86, 0.85], seed=4), look_sizes(3, 8), 8)
    claimed = (decisions[0] == "equivalent").mean()
    assert claimed <= monte_carlo_bound(0.05), claimed


def test_with_no_true_difference_equivalence_is_reached_at_the_rate_the_design_expects():
    decisions, _ = run_study(synthetic([0.85, 0.85], seed=5), look_sizes(3, 8), 8)
    reached = (decisions[0] == "equivalent").mean()
    # the fixed-size two one-sided t tests on all 8 seeds (noncentral t): the sequential design spends some of its
    # error at the earlier looks, so its final boundary is a little stricter and it reaches a little less
    df, critical, shift = 7, stats.t.isf(0.05, 7), MARGIN * np.sqrt(8) / 0.01
    fixed = stats.nct.sf(critical, df, shift) - stats.nct.sf(-critical, df, -shift)
    assert fixed - 0.1 <= reached <= monte_carlo_bound(fixed), (reached, fixed)


def test_a_decision_once_made_stays_at_later_looks():
    sizes = look_sizes(3, 8)
    first = sequential.decide({"relu-selu": [0.030, 0.031, 0.029]}, MARGIN, sizes, 8)["relu-selu"]
    assert first["decision"] == "ahead"
    later = sequential.decide({"relu-selu": [0.030, 0.031, 0.029, -0.02, 0.01]}, MARGIN, sizes, 8,
                              earlier={"relu-selu": (first["p_differ"], first["p_equivalent"])})["relu-selu"]
    assert later["decision"] == "ahead" and later["seeds"] == 5 and not later["final"]


def test_the_seeds_a_pair_would_take_follow_the_noncentral_t():
    n = sequential.seeds_for_power(0.01, 0.01)
    power = lambda m: stats.nct.sf(stats.t.isf(0.025, m - 1), m - 1, np.sqrt(m))
    assert power(n) >= 0.8 > power(n - 1)
    assert sequential.seeds_for_power(0.0, 0.01) is None
    m = sequential.seeds_for_equivalence(0.0, 0.01, MARGIN)
    assert m > 8  # one point of paired std against a one-point margin: more than configs/decide.yaml's 8
    assert sequential.seeds_for_equivalence(0.012, 0.01, MARGIN) is None  # outside the margin: never


def _metrics_file(folder, activation, seed, accuracy):
    import json

    path = folder / f"{activation}-{seed}.json"
    path.write_text(json.dumps({"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": activation,
                                "seed": seed, "test_accuracy": accuracy, "test_size": 2000, "final_step": 800,
                                "diverged_at_step": None}))
    return path


def test_a_look_goes_on_with_the_next_seeds_while_a_pair_is_undecided_and_later_looks_repeat_a_stop(tmp_path):
    from actviz.decisions import decide_look
    from actviz.report.evidence import Design

    planned, design = planned_looks([0, 1, 2], 8), Design(0.01, 3, 8)
    paths = [_metrics_file(tmp_path, a, s, v) for a, values in (("relu", (0.85, 0.87, 0.84)),
                                                                 ("selu", (0.85, 0.85, 0.85)))
             for s, v in enumerate(values)]
    first = decide_look(paths, 0, planned, design)
    assert first["pairs"][0]["decision"] == "undecided" and first["next_seeds"] == [0, 1, 2, 3, 4]
    assert not first["stopped"] and first["decided_at_look"] is None
    decided = [_metrics_file(tmp_path, a, s, 0.85 + (0.03 if a == "relu" else 0.0) + 0.001 * s)
               for a in ("relu", "selu") for s in range(5)]
    second = decide_look(decided, 1, planned, design, first)
    assert second["pairs"][0]["decision"] == "ahead" and second["stopped"] and second["next_seeds"] == []
    third = decide_look([], 2, planned, design, second)  # stopped before: nothing trains, the decision stands
    assert third["look"] == 2 and third["pairs"] == second["pairs"] and third["decided_at_look"] == 1
