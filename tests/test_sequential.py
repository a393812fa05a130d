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
TEST_IMAGES = 2000  # the sample's test split: an accuracy is a multiple of 1/2000


def monte_carlo_bound(rate, n=SEQUENCES):
    """``rate`` plus twice its Monte-Carlo standard error over ``n`` sequences."""
    return rate + 2 * np.sqrt(rate * (1 - rate) / n)


def run_study(accuracies, sizes, max_seeds, margin=MARGIN):
    """The workflow's own rule (``sequential_study``: frozen decisions, stopped once every pair is decided) over
    synthetic studies: ``accuracies`` [activation, study, seed], NaN for a diverged run. Returns each pair's
    decisions [pair, study], its rows, and the seeds each study trained."""
    pairs = [(a, b) for a in range(len(accuracies)) for b in range(a + 1, len(accuracies))]
    rows, study = sequential.sequential_study({p: accuracies[p[0]] - accuracies[p[1]] for p in pairs}, margin, sizes,
                                              max_seeds)
    return np.array([rows[p]["decision"] for p in pairs]), [rows[p] for p in pairs], study["seeds"]


def synthetic(means, seed, max_seeds=8, noise="normal", rounded=False, diverged=False):
    """Accuracies [activation, study, seed] around ``means``: normal noise of SEED_STD, or t with 3 degrees of
    freedom scaled to the same std; ``rounded`` to whole test images; ``diverged``: one run a study, at a random
    activation and seed, NaN."""
    rng = np.random.default_rng(seed)
    size = (len(means), SEQUENCES, max_seeds)
    draws = rng.normal(0, SEED_STD, size) if noise == "normal" else rng.standard_t(3, size) * SEED_STD / np.sqrt(3)
    accuracies = np.asarray(means)[:, None, None] + draws
    if rounded:
        accuracies = np.round(accuracies * TEST_IMAGES) / TEST_IMAGES
    if diverged:
        accuracies[rng.integers(0, len(means), SEQUENCES), np.arange(SEQUENCES),
                   rng.integers(0, max_seeds, SEQUENCES)] = np.nan
    return accuracies


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
    ([0], 8, "start from three or more seeds; seeds has 1"),
    ([0, 1], 6, "start from three or more seeds; seeds has 2"),
])
def test_looks_that_cannot_be_planned_are_named(seeds, max_seeds, message):
    assert message in looks_problem(seeds, max_seeds)
    assert looks_problem([0, 1, 2], 8) is None and looks_problem([0], 0) is None and looks_problem([0], 1) is None
    assert looks_problem([0, 1], 0) is None and looks_problem([0, 1], 2) is None


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
            assert sequential.repeated_p_value(c, fractions[:look + 1]) == pytest.approx(alpha, rel=0.02)


def test_the_step_down_rejects_holm_shaffer_and_stops_at_the_first_failure():
    # two pairs, four hypotheses: at most two true, so the first two steps are at alpha / 2, then alpha / 2, alpha
    differ, equivalent = sequential.step_down([[0.02], [0.03]], [[0.2], [0.024]])
    assert differ.ravel().tolist() == [True, False] and equivalent.ravel().tolist() == [False, True]
    # Holm over four would need 0.0125 at the first step
    assert sequential.step_down([0.02, 0.5], [0.5, 0.5])[0].tolist() == [True, False]
    assert sequential.step_down([0.026, 0.5], [0.5, 0.5])[0].tolist() == [False, False]
    # one pair: each of its two hypotheses at alpha
    assert sequential.step_down([0.049], [0.049]) == ([True], [True])


FAMILY_WISE = {  # (sizes, max_seeds, synthetic options): the cases the workflow's rule must hold 5% in
    "looks 3, 5, 8": ([3, 5, 8], 8, {}),
    "rounded to whole test images, looks 2, 3, 5, 6": (look_sizes(2, 6), 6, {"rounded": True}),
    "rounded to whole test images, looks 2, 4, 6": ([2, 4, 6], 6, {"rounded": True}),
    "rounded to whole test images, looks 3, 5, 8": ([3, 5, 8], 8, {"rounded": True}),
    "t noise with 3 degrees of freedom": ([3, 5, 8], 8, {"noise": "t3", "rounded": True}),
    "a random diverged seed": ([3, 5, 8], 8, {"diverged": True, "rounded": True}),
}


@pytest.mark.parametrize("case", FAMILY_WISE)
def test_with_no_true_difference_one_pair_is_called_ahead_at_most_at_the_error_rate(case):
    sizes, max_seeds, options = FAMILY_WISE[case]
    decisions, _, _ = run_study(synthetic([0.85, 0.85], 1, max_seeds, **options), sizes, max_seeds)
    wrong = np.isin(decisions[0], ["ahead", "behind"]).mean()
    assert wrong <= monte_carlo_bound(0.05), wrong


@pytest.mark.parametrize("case", FAMILY_WISE)
def test_with_three_equal_activations_any_false_ahead_is_at_most_the_error_rate(case):
    sizes, max_seeds, options = FAMILY_WISE[case]
    decisions, _, _ = run_study(synthetic([0.85, 0.85, 0.85], 2, max_seeds, **options), sizes, max_seeds)
    any_wrong = np.isin(decisions, ["ahead", "behind"]).any(axis=0).mean()
    assert any_wrong <= monte_carlo_bound(0.05), any_wrong


def test_any_false_claim_of_either_kind_is_at_most_the_error_rate():
    # one equal pair (ahead would be false) and two exactly at the margin (equivalent would be false)
    decisions, _, _ = run_study(synthetic([0.85, 0.85, 0.86], 3, rounded=True), [3, 5, 8], 8)
    false_ahead = np.isin(decisions[0], ["ahead", "behind"])
    false_equivalent = (decisions[1:] == "equivalent").any(axis=0)
    assert (false_ahead | false_equivalent).mean() <= monte_carlo_bound(0.05), (false_ahead | false_equivalent).mean()


def test_a_true_difference_of_two_points_is_found_ahead_mostly_before_the_last_seed():
    decisions, _, used = run_study(synthetic([0.87, 0.85], seed=3), [3, 5, 8], 8)
    assert (decisions[0] == "ahead").mean() >= 0.95
    assert (decisions[0] == "behind").mean() == 0
    assert used.mean() < 7 and (used < 8).mean() >= 0.5  # looks stop early: most studies need fewer than 8 seeds


def test_a_true_difference_at_the_margin_is_called_equivalent_at_most_at_the_error_rate():
    decisions, _, _ = run_study(synthetic([0.86, 0.85], seed=4), [3, 5, 8], 8)
    claimed = (decisions[0] == "equivalent").mean()
    assert claimed <= monte_carlo_bound(0.05), claimed


def test_with_no_true_difference_equivalence_is_reached_at_the_rate_the_design_expects():
    decisions, _, _ = run_study(synthetic([0.85, 0.85], seed=5), [3, 5, 8], 8)
    reached = (decisions[0] == "equivalent").mean()
    # the fixed-size two one-sided t tests on all 8 seeds (noncentral t): the sequential design spends some of its
    # error at the earlier looks, so its final boundary is a little stricter and it reaches a little less
    df, critical, shift = 7, stats.t.isf(0.05, 7), MARGIN * np.sqrt(8) / 0.01
    fixed = stats.nct.sf(critical, df, shift) - stats.nct.sf(-critical, df, -shift)
    assert fixed - 0.1 <= reached <= monte_carlo_bound(fixed), (reached, fixed)


def test_a_pair_decided_ahead_is_shown_beside_an_interval_that_excludes_zero():
    decisions, rows, _ = run_study(synthetic([0.86, 0.85, 0.85], 6, rounded=True), [3, 5, 8], 8)
    for decision, row in zip(decisions, rows):
        ahead, behind = decision == "ahead", decision == "behind"
        assert ahead.any() and np.all(row["ci_low"][ahead] > 0) and np.all(row["ci_high"][behind] < 0)
        equivalent = decision == "equivalent"
        assert np.all(row["equivalence_low"][equivalent] > -MARGIN)
        assert np.all(row["equivalence_high"][equivalent] < MARGIN)


def test_the_decisions_at_the_stop_are_what_the_looks_up_to_it_decided():
    # the workflow trains no seed past the stop, and the report replays the looks it reached: the same decisions
    accuracies = synthetic([0.86, 0.85, 0.85], 7, rounded=True)[:, :300]
    decisions, _, used = run_study(accuracies, [3, 5, 8], 8)
    for study in range(accuracies.shape[1]):
        again, _, _ = run_study(accuracies[:, study:study + 1, :used[study]], [3, 5, 8], 8)
        assert again[:, 0].tolist() == decisions[:, study].tolist()


def test_zero_spread_is_not_ahead_and_nan_is_a_diverged_seed():
    # two seeds of rounded accuracies with the same difference: no spread to test against
    row = sequential.decide({"p": [0.0005, 0.0005]}, MARGIN, [2], 2)["p"]
    assert row["decision"] == "undecided" and row["zero_spread"] and row["p_differ"] == 1.0
    # with looks, two seeds are no test at all (a t with 1 degree of freedom): the reproduction
    row = sequential.decide({"p": [0.0005, 0.0005]}, MARGIN, [2, 4, 6], 6)["p"]
    assert row["decision"] == "undecided" and row["look"] == -1 and row["p_differ"] == 1.0
    assert sequential.decide({"p": [0.0, 0.0, 0.0]}, MARGIN, [3, 5, 8], 8)["p"]["decision"] == "equivalent"
    diverged = sequential.decide({"p": [0.01, np.nan, 0.012, 0.011]}, MARGIN, [4], 4)["p"]
    assert diverged["seeds"] == 3 and diverged["difference"] == pytest.approx(0.011)
    assert diverged["decision"] in ("ahead", "undecided")  # never "behind" from a NaN


def test_ahead_by_less_than_the_margin_says_both():
    row = sequential.decide({"p": [0.004, 0.0042, 0.0038, 0.0041, 0.0039]}, MARGIN, [5], 5)["p"]
    assert row["decision"] == "ahead" and row["within_margin"]
    assert row["p_equivalent"] < 1e-5


def test_a_pair_that_lost_a_seed_keeps_its_looks_at_the_fractions_it_reached():
    # selu's seed 2 diverged: its pairs have 2 finite seeds at look 1, 4 at look 2; relu - lrelu 3 and 5
    relu, lrelu = np.array([0.86, 0.85, 0.87, 0.86, 0.85]), np.array([0.85, 0.85, 0.86, 0.85, 0.845])
    selu = np.array([0.84, 0.83, np.nan, 0.835, 0.83])
    rows = sequential.decide({"relu-lrelu": relu - lrelu, "relu-selu": relu - selu, "lrelu-selu": lrelu - selu},
                             MARGIN, [3, 5, 8], 8)
    assert [rows[p]["seeds"] for p in rows] == [5, 4, 4] and all(rows[p]["look"] == 1 for p in rows)
    # at the last planned look a pair short of max_seeds still spends all of alpha: the fixed test at 1 look
    last = sequential.boundaries((7 / 8,), 0.05, spend_all=True)
    assert last == pytest.approx((stats.norm.isf(0.025),), abs=1e-6)


def test_a_decision_once_made_stays_at_later_looks():
    sizes = [3, 5, 8]
    first = sequential.decide({"relu-selu": [0.030, 0.0302, 0.0298]}, MARGIN, sizes, 8)["relu-selu"]
    assert first["decision"] == "ahead" and first["decided_look"] == 0
    # two more seeds that reverse the difference: the pair is not tested again
    later = sequential.decide({"relu-selu": [0.030, 0.0302, 0.0298, -0.05, -0.06]}, MARGIN, sizes, 8)["relu-selu"]
    assert later == first
    # another pair keeps the study going; the decided one stays as it was at look 1
    rows = sequential.decide({"relu-selu": [0.030, 0.0302, 0.0298, -0.05, -0.06],
                              "relu-lrelu": [0.001, 0.02, -0.01, 0.0, 0.01]}, MARGIN, sizes, 8)
    assert rows["relu-selu"]["decided_look"] == 0 and rows["relu-selu"]["seeds"] == 3


def test_the_seeds_a_pair_would_take_follow_the_noncentral_t():
    n = sequential.seeds_for_power(0.01, 0.01)
    power = lambda m: stats.nct.sf(stats.t.isf(0.025, m - 1), m - 1, np.sqrt(m))
    assert power(n) >= 0.8 > power(n - 1)
    assert sequential.seeds_for_power(0.0, 0.01) is None and sequential.seeds_for_power(0.01, 0.0) is None
    assert sequential.seeds_for_power(float("nan"), 0.01) is None
    m = sequential.seeds_for_equivalence(0.0, 0.01, MARGIN)
    assert m > 8  # one point of paired std against a one-point margin: more than configs/decide.yaml's 8
    assert sequential.seeds_for_equivalence(0.012, 0.01, MARGIN) is None  # outside the margin: never


@pytest.mark.parametrize("difference, std, margin", [(0.005, 0.01, 0.01), (0.003, 0.02, 0.01), (0.0, 0.01, 0.01),
                                                     (0.009, 0.004, 0.01)])
def test_the_seeds_for_equivalence_are_the_smallest_with_80_percent_power(difference, std, margin):
    def power(n):  # both one-sided t tests reject, by simulation of the paired differences
        rng = np.random.default_rng(n)
        d = rng.normal(difference, std, (20_000, n))
        t_low = (d.mean(1) + margin) / (d.std(1, ddof=1) / np.sqrt(n))
        t_high = (margin - d.mean(1)) / (d.std(1, ddof=1) / np.sqrt(n))
        return np.mean((t_low > stats.t.isf(0.05, n - 1)) & (t_high > stats.t.isf(0.05, n - 1)))

    n = sequential.seeds_for_equivalence(difference, std, margin)
    assert power(n) >= 0.8 - 0.01 and power(n - 1) < 0.8 + 0.01  # within the simulation's error
    if (difference, std) == (0.005, 0.01):
        assert n <= 28  # was 32: the search started from a normal estimate for a difference of 0


def _metrics_file(folder, activation, seed, accuracy):
    import json

    path = folder / f"{activation}-{seed}.json"
    path.write_text(json.dumps({"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": activation,
                                "seed": seed, "test_accuracy": accuracy, "test_size": 2000, "final_step": 800,
                                "diverged_at_step": None}))
    return path


def test_a_look_goes_on_with_the_next_seeds_while_a_pair_is_undecided_and_later_looks_repeat_a_stop(tmp_path):
    from actviz.decisions import decide_look
    from actviz.report.accuracy_tables import Design

    design = Design(0.01, tuple(map(tuple, planned_looks([0, 1, 2], 8))))
    paths = [_metrics_file(tmp_path, a, s, v) for a, values in (("relu", (0.85, 0.87, 0.84)),
                                                                 ("selu", (0.85, 0.85, 0.85)))
             for s, v in enumerate(values)]
    first = decide_look(paths, 0, design)
    assert first["pairs"][0]["decision"] == "undecided" and first["next_seeds"] == [0, 1, 2, 3, 4]
    assert not first["stopped"] and first["decided_at_look"] is None
    decided = [_metrics_file(tmp_path, a, s, 0.85 + (0.03 + 0.001 * s if a == "relu" else 0.002 * s))
               for a in ("relu", "selu") for s in range(5)]
    second = decide_look(decided, 1, design, first)
    assert second["pairs"][0]["decision"] == "ahead" and second["stopped"] and second["next_seeds"] == []
    third = decide_look([], 2, design, second)  # stopped before: nothing trains, the decision stands
    assert third["look"] == 2 and third["pairs"] == second["pairs"] and third["decided_at_look"] == 1
