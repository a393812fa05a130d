"""What the report may claim: intervals and tests against independent computations, a winner only
with support, diverged seeds out of every mean. Plain data, no files, no plotting."""

import math

import numpy as np
import pytest
from scipy import stats

from actviz import sequential
from actviz.evaluation import pack_bits
from actviz.improvement import probability_of_improvement
from actviz.report import (
    accuracy_tables,
    across_tables,
    layer_tables,
    layer_words,
    numbers,
    spread,
    sweep_tables,
    uncertainty,
    verdict_words,
)
from actviz.variance import variance_split

TEST_IMAGES = 2000


def _correct(accuracy, only_this, seed=0):
    """Each test image's result: ``accuracy`` of them right, of which the first ``only_this`` of the
    discordant block are where this run differs from its partner (see ``_pair``)."""
    flags = np.zeros(TEST_IMAGES, bool)
    flags[: round(accuracy * TEST_IMAGES)] = True
    return np.random.default_rng(seed).permutation(flags) if only_this is None else flags


def _pair(both, only_a, only_b):
    """Two runs' results on the same images: ``both`` right by both, then ``only_a``, then ``only_b``."""
    a, b = np.zeros(TEST_IMAGES, bool), np.zeros(TEST_IMAGES, bool)
    a[:both] = b[:both] = True
    a[both:both + only_a] = True
    b[both + only_a:both + only_a + only_b] = True
    return a, b


def _run(accuracy=None, correct=None, diverged=None, steps=800, layers=("conv1", "dense1", "logits"), stats=None):
    if correct is not None:
        accuracy = float(correct.mean())
    evaluation = None if correct is None else {"images": TEST_IMAGES, "correct": pack_bits(correct),
                                               "confusion": [[int(correct.sum()), 0], [0, 0]]}
    metrics = {"test_accuracy": None if diverged else accuracy, "diverged_at_step": diverged, "final_step": steps,
               "test_size": TEST_IMAGES, "final_evaluation": None if diverged else evaluation,
               "evaluations": [{"step": s, "validation_accuracy": (accuracy or 0) * s / steps} for s in (0, steps)],
               "training": [{"step": steps, "train_loss": 0.5}]}
    mean, std = stats or (0.0, 1.0)
    training_stats = [{"layer": layer, "step": str(step), "mean": str(mean if step else 0.0),
                       "std": str(std if step else 1.0)} for step in (0, steps) for layer in layers]
    return {"metrics": metrics, "training_stats": training_stats}


def test_one_seed_has_the_wilson_interval_of_its_test_split():
    low, high = uncertainty.wilson_interval(1710, 2000)
    p, n, z = 1710 / 2000, 2000, stats.norm.ppf(0.975)
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n
                                                                                             + z * z / (4 * n * n))
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert high - low == pytest.approx(0.0310, abs=5e-4)  # ±1.6 points on 2,000 images, as the issue says


def test_several_seeds_have_mean_sample_std_and_t_interval():
    values = [0.80, 0.84, 0.82]
    mean, std, (low, high) = uncertainty.t_interval(values)
    sample_std = math.sqrt(sum((v - 0.82) ** 2 for v in values) / 2)  # ddof 1
    half = stats.t.ppf(0.975, 2) * sample_std / math.sqrt(3)
    assert (mean, std) == pytest.approx((0.82, sample_std)) and (low, high) == pytest.approx((0.82 - half, 0.82 + half))


def test_mcnemar_p_is_the_exact_binomial_test_on_discordant_images_and_its_interval_agrees():
    a, b = _pair(1600, 70, 45)
    result = uncertainty.mcnemar_difference(a, b)
    exact = min(1.0, 2 * sum(math.comb(115, k) for k in range(0, 46)) / 2**115)  # two-sided, at most 45 of 115
    assert result["p_value"] == pytest.approx(exact, rel=1e-9)
    assert (result["only_a"], result["only_b"], result["difference"]) == (70, 45, 25 / TEST_IMAGES)
    low, high = stats.beta.ppf(0.025, 70, 46), stats.beta.ppf(0.975, 71, 45)  # Clopper-Pearson for 70 of 115
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(((2 * low - 1) * 115 / 2000, (2 * high - 1) * 115
                                                                   / 2000))
    assert uncertainty.distinguishable(result) == (result["p_value"] < 0.05)
    for only_a, only_b in ((60, 40), (61, 39), (30, 60), (10, 0)):  # the interval excludes 0 exactly when p < 0.05
        result = uncertainty.mcnemar_difference(*_pair(1000, only_a, only_b))
        assert uncertainty.distinguishable(result) == (result["p_value"] < 0.05), (only_a, only_b)


def test_paired_seeds_difference_is_the_t_interval_of_the_per_seed_differences():
    result = uncertainty.paired_seeds_difference([0.85, 0.86, 0.84], [0.80, 0.83, 0.80])
    mean, _, (low, high) = uncertainty.t_interval([0.05, 0.03, 0.04])
    assert (result["difference"], result["ci_low"], result["ci_high"]) == pytest.approx((mean, low, high))
    assert result["p_value"] == pytest.approx(stats.ttest_rel([0.85, 0.86, 0.84], [0.80, 0.83, 0.80]).pvalue)


SETUP = ("d", "cnn", "snn")


def _verdict(runs):
    accuracy = accuracy_tables.accuracy_rows(runs, [SETUP], ["relu", "lrelu", "selu"])
    comparisons = accuracy_tables.comparison_rows(runs, accuracy, SETUP)
    return accuracy, comparisons, accuracy_tables.verdict(accuracy, comparisons, SETUP)


def test_one_seed_names_no_activation_and_says_the_networks_are_within_noise():
    relu, lrelu = _pair(1600, 60, 45)  # 83.0% against 82.25%: p = 0.17
    runs = {("d", "cnn", "snn", "relu", 0): _run(correct=relu), ("d", "cnn", "snn", "lrelu", 0): _run(correct=lrelu)}
    _, comparisons, verdict = _verdict(runs)
    assert verdict["top"]["activation"] == "relu" and verdict["winner"] is None and verdict["one_seed"]
    assert comparisons[0]["evidence"] == "networks" and comparisons[0]["decision"] == "networks within noise"
    sentence = verdict_words.accuracy_sentence(verdict, "snn")
    assert sentence.startswith("snn: one seed (800 steps, 2,000 test images) measures these trained networks, not the "
                               "activations: relu's network scored highest, 0.8300, over the runner-up relu − lrelu "
                               "= +0.8 points (95% CI")
    assert "McNemar p = 0.17" in sentence and "no two differ on the test images beyond noise" in sentence
    assert "needs two or more seeds" in sentence and "ahead" not in sentence.split("Whether")[0]


def test_one_seed_names_no_winning_activation_even_when_its_networks_differ():
    relu, lrelu = _pair(1500, 150, 50)
    _, selu = _pair(1500, 200, 40)
    runs = {("d", "cnn", "snn", "relu", 0): _run(correct=relu), ("d", "cnn", "snn", "lrelu", 0): _run(correct=lrelu),
            ("d", "cnn", "snn", "selu", 0): _run(correct=selu)}
    _, comparisons, verdict = _verdict(runs)
    assert verdict["winner"] is None and verdict["top"]["activation"] == "relu"
    assert all(c["decision"] == "networks differ" for c in comparisons if c["activation_a"] == "relu")
    sentence = verdict_words.accuracy_sentence(verdict, "snn")
    assert "measures these trained networks, not the activations" in sentence
    assert "pairs differ on the test images beyond noise" in sentence and "is ahead of" not in sentence
    table = verdict_words.verdict_table(verdict, "cnn/snn", "adam, learning_rate=0.001")
    assert table["unit"] == "these trained networks, not the activations"
    assert table["pairs"][0]["decision"] == "networks differ"


def _seeds(values):
    return {("d", "cnn", "snn", a, s): _run(accuracy=v) for a, vs in values.items() for s, v in enumerate(vs)}


def test_a_winner_over_seeds_needs_its_paired_interval_above_zero():
    runs = _seeds({"relu": (0.85, 0.86, 0.84), "lrelu": (0.80, 0.83, 0.80)})
    accuracy, comparisons, verdict = _verdict(runs)
    assert comparisons[0]["method"] == "paired t over 3 seeds" and verdict["winner"]["activation"] == "relu"
    assert comparisons[0]["evidence"] == "activations" and comparisons[0]["decision"] == "ahead"
    assert accuracy[0]["interval"] == "t over 3 seeds" and accuracy[0]["test_accuracy_std"] == pytest.approx(0.01)
    # one look: the repeated interval is the plain paired t interval
    plain = uncertainty.paired_seeds_difference([0.85, 0.86, 0.84], [0.80, 0.83, 0.80])
    assert (comparisons[0]["ci_low"], comparisons[0]["ci_high"]) == pytest.approx((plain["ci_low"], plain["ci_high"]))
    sentence = verdict_words.accuracy_sentence(verdict, "snn")
    assert sentence.startswith("snn: relu is ahead of every other activation, paired over seeds (3 seeds, 800 steps")
    runs["d", "cnn", "snn", "lrelu", 1]["metrics"]["test_accuracy"] = 0.87  # now one seed reverses the order
    assert _verdict(runs)[2]["winner"] is None


def test_activations_within_the_margin_over_seeds_are_called_equivalent():
    runs = _seeds({"relu": (0.850, 0.861, 0.842, 0.855, 0.848), "lrelu": (0.849, 0.862, 0.840, 0.855, 0.849)})
    _, comparisons, verdict = _verdict(runs)
    assert comparisons[0]["decision"] == "equivalent" and verdict["winner"] is None
    assert -0.01 < comparisons[0]["equivalence_low"] < comparisons[0]["equivalence_high"] < 0.01
    assert verdict_words.accuracy_sentence(verdict, "snn") == (
        "snn, paired over seeds (5 seeds, 800 steps, 2,000 test images): relu vs lrelu: equivalent within 1 point.")


def test_an_undecided_pair_says_how_many_seeds_would_decide_it():
    runs = _seeds({"relu": (0.850, 0.870, 0.842), "lrelu": (0.849, 0.850, 0.846)})
    _, comparisons, verdict = _verdict(runs)
    c = comparisons[0]
    assert c["decision"] == "undecided" and c["seeds_to_decide"] > 3
    assert c["seeds_to_decide"] == sequential.seeds_for_power(c["difference"], c["paired_std"])
    assert f"~{c['seeds_to_decide']} seeds would show the difference" in verdict_words.accuracy_sentence(verdict, "snn")


def test_seeds_grown_in_looks_are_decided_at_the_look_they_reached():
    runs = _seeds({"relu": (0.86, 0.87, 0.85, 0.86, 0.87), "lrelu": (0.84, 0.845, 0.83, 0.842, 0.85)})
    accuracy = accuracy_tables.accuracy_rows(runs, [SETUP], ["relu", "lrelu"])
    design = accuracy_tables.Design(0.01, ((0, 1, 2), (0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6, 7)))
    row = accuracy_tables.comparison_rows(runs, accuracy, SETUP, design)[0]
    differences = [0.02, 0.025, 0.02, 0.018, 0.02]
    direct = sequential.decide({0: differences}, 0.01, [3, 5, 8], 8)[0]
    assert (row["decision"], row["p_value"]) == (direct["decision"], pytest.approx(direct["p_differ"]))
    # undecided at look 1 (3 seeds), decided at look 2 over 5
    assert direct["decided_look"] == 1 and row["method"] == "paired t over 5 seeds, decided at look 2 of 3"
    assert row["looks"] == 3 and row["decided_at_look"] == 2 and row["seeds"] == [0, 1, 2, 3, 4]
    assert verdict_words.decision_words(row) == "ahead (look 2 of 3, 5 seeds)"
    # wider than the fixed 5-seed interval: the planned looks spend the error rate over time
    plain = uncertainty.paired_seeds_difference([0.86, 0.87, 0.85, 0.86, 0.87], [0.84, 0.845, 0.83, 0.842, 0.85])
    assert row["ci_high"] - row["ci_low"] > plain["ci_high"] - plain["ci_low"]


def test_a_diverged_seed_is_left_out_of_the_accuracy_and_the_comparisons():
    runs = {("d", "cnn", "snn", "relu", s): _run(accuracy=v) for s, v in enumerate((0.85, 0.86, 0.84))}
    runs |= {("d", "cnn", "snn", "selu", s): _run(accuracy=v) for s, v in enumerate((0.81, 0.82, 0.80))}
    runs["d", "cnn", "snn", "relu", 1] = _run(diverged=37)
    accuracy, comparisons, _ = _verdict(runs)
    relu = next(r for r in accuracy if r["activation"] == "relu")
    assert relu["seeds"] == [0, 2] and relu["all_seeds"] == [0, 1, 2] and relu["diverged"] == "seed 1 at step 37"
    assert relu["test_accuracy_mean"] == pytest.approx(0.845) and relu["interval"] == "t over 2 seeds"
    assert comparisons[0]["seeds"] == [0, 2] and comparisons[0]["difference"] == pytest.approx(0.04)


def test_a_diverged_seed_is_left_out_of_the_depth_profiles_and_learning_curves():
    runs = {("d", "cnn", "snn", "selu", s): _run(accuracy=0.8, stats=(0.1 * s, 1.0 + s)) for s in range(3)}
    runs["d", "cnn", "snn", "selu", 2] = _run(diverged=5, stats=(99.0, 99.0))
    profiles = layer_tables.depth_profiles(runs, SETUP, ["selu"], ["conv1", "dense1", "logits"])
    assert profiles["selu", "trained"]["mean"] == pytest.approx([0.05] * 3)
    assert profiles["selu", "trained"]["seeds"] == 2
    assert profiles["selu", "trained"]["std"] == pytest.approx([1.5] * 3)
    curves = numbers.learning_curves(runs, [SETUP], ["selu"])
    assert curves["validation_accuracy"]["cnn/snn", "selu"] == ([0, 800], [0.0, 0.8])


def test_a_diverged_seed_is_left_out_of_the_layer_tables_and_per_class_results():
    runs = {("d", "cnn", "snn", "selu", s): _run(correct=_correct(0.8, None, s)) for s in range(2)}
    runs["d", "cnn", "snn", "selu", 1]["metrics"]["diverged_at_step"] = 9
    layers = [{"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": "selu", "seed": s,
               "layer": "conv1",
               **{k: float(s * 10 + 1) for k in layer_tables.LAYER_TABLE}} for s in range(2)]
    table = layer_tables.final_layer_table(runs, layers, SETUP, "conv1", ["selu"])
    assert table == [{"activation": "selu", "seeds": 1, **{k: 1.0 for k in layer_tables.LAYER_TABLE}}]
    per_class = accuracy_tables.per_class_rows(runs, SETUP, ["selu"], ["a", "b"])
    assert per_class[0]["seeds"] == [0] and per_class[0]["accuracy_mean"] == 1.0


def test_sentences_about_mean_0_and_std_1_say_when_no_activation_is_near():
    layers = ["conv1", "dense2", "logits"]
    far = {"snn": {("relu", "init"): {"mean": [0.0] * 3, "std": [1.0] * 3},
                   ("relu", "trained"): {"mean": [0, 3.03, 0], "std": [1, 5.61, 1]},
                   ("selu", "init"): {"mean": [0.0] * 3, "std": [1.0] * 3},
                   ("selu", "trained"): {"mean": [0, 8.74, 0], "std": [1, 25.11, 1]}}}
    sentences = layer_words.fixed_point_sentences(far, layers)
    assert sentences[0].startswith("After training, no activation keeps dense2 (the last hidden layer) near mean 0 "
                                   "and std 1 (mean within ±0.1 and variance within 0.8–1.5")
    assert "closest" not in " ".join(sentences) and "relu (snn) mean 3.03, std 5.61" in sentences[0]
    assert sentences[1] == ("SELU (snn): at initialisation inside the domain at every hidden layer (dense2 mean 0.00, "
                            "std 1.00); after training inside the domain at conv1 only (dense2 mean 8.74, std 25.11).")
    near = {"snn": {**far["snn"], ("selu", "trained"): {"mean": [0, 0.05, 0], "std": [1, 1.1, 1]}}}
    assert layer_words.fixed_point_sentences(near, layers)[0].endswith("for: selu (snn) mean 0.05, std 1.10.")


def test_the_report_says_where_the_moment_map_parts_from_the_measurement():
    layers = ["dense1", "dense2", "dense3", "logits"]
    close = {"mean": [0.0, 0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0, 1.0], "predicted_mean": [0.02, -0.05, 0.0, 0.0],
             "predicted_std": [1.05, 0.95, 1.0, 1.08]}
    parted = {**close, "std": [1.0, 2.0, 4.0, 1.0], "predicted_std": [1.0, 1.2, 2.0, 1.0]}
    behind_batchnorm = {**close, "predicted_mean": [0.0, None, None, None], "predicted_std": [1.0, None, None, None]}
    assert layer_words.parts_at(close, layers) == ()
    assert layer_words.parts_at(parted, layers) == ("dense2", "std", 2.0, 1.2)
    shifted = {**close, "predicted_mean": [0.0, 0.5, 0.0, 0.0]}  # std right, mean off by half a std
    assert layer_words.parts_at(shifted, layers) == ("dense2", "mean", 0.0, 0.5)
    assert layer_words.parts_at({**close, "predicted_mean": [None] * 4, "predicted_std": [None] * 4}, layers) is None
    assert layer_words.parts_at(behind_batchnorm, layers) == ()
    sentence, = layer_words.moment_map_sentences({"mlp4/snn": {("selu", "init"): close, ("selu", "trained"): parted}},
                                              layers)
    assert sentence.startswith("The moment map, one step from the measured layer below (mlp4/snn; parting: off by "
                               "more than 10% of the layer's std): selu matches every predicted layer at "
                               "initialisation and parts from it after training at dense2 (std 2.00 measured, 1.20 "
                               "predicted).")


def _selected_row(activation, trial, **margin):
    return {"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": activation,
            "learning_rate": trial and float(trial.split("=")[1]), "trial": trial, "validation_accuracy": 0.85,
            "trials": 4, "seeds": 1, "rungs": margin.pop("rungs", [800]), **{k: None for k in sweep_tables.MARGIN_KEYS},
            "runner_up": None, "compared_at_step": None, **margin}


def test_the_selection_sentence_says_whether_each_selected_trial_beat_its_runner_up_beyond_noise():
    apart, close = ({k: uncertainty.mcnemar_difference(*_pair(800, *only), split="validation")[k]
                     for k in sweep_tables.MARGIN_KEYS} for only in ((40, 10), (22, 18)))
    rows = [_selected_row("relu", "learning_rate=0.0003", runner_up="learning_rate=0.001", compared_at_step=400,
                          rungs=[200, 400, 800], **apart),
            _selected_row("selu", "learning_rate=0.001", runner_up="learning_rate=0.0003", compared_at_step=400,
                          rungs=[200, 400, 800], **close),
            _selected_row("lrelu", None, rungs=[200, 400, 800])]
    sentence = verdict_words.selection_sentence("cnn/snn", rows, [1000])
    assert sentence.startswith("cnn/snn: each activation at its own selected setting, chosen on 1,000 validation "
                               "images (held out of the train split; never the test split) among 4 trials by "
                               "successive halving (200, 400, 800 steps: the better half of each rung's trials went "
                               "on to the next): relu learning_rate=0.0003 (+1.5 points over learning_rate=0.001 on "
                               "the validation split at step 400, 95% CI ")
    assert "beyond noise); selu learning_rate=0.001 (+0.2 points over learning_rate=0.0003" in sentence
    assert "within noise: either would do); lrelu none (every trial diverged)." in sentence
    grid = verdict_words.selection_sentence("cnn/snn", [_selected_row("relu", "learning_rate=0.0003")], [1000])
    assert "halving" not in grid and grid.endswith("among 4 trials: relu learning_rate=0.0003.")  # no runner-up


def test_without_a_sweep_the_verdict_says_the_activations_share_one_setting():
    relu, lrelu = _pair(1600, 60, 45)
    runs = {("d", "cnn", "snn", "relu", 0): _run(correct=relu), ("d", "cnn", "snn", "lrelu", 0): _run(correct=lrelu)}
    verdict = _verdict(runs)[2]
    settings = {"optimizer": "sgd", "learning_rate": 0.01, "steps": 2400}
    sentences = verdict_words.verdict_sentences("d", {"cnn/snn": verdict}, {}, shared={"cnn/snn": settings})
    assert sentences[1] == ("cnn/snn: every activation at one shared setting (sgd, learning_rate=0.01, 2,400 steps), "
                            "not each at its own best; a setting that suits one activation more than another decides "
                            "the comparison as much as the activation does (a sweep selects each one's own on the "
                            "validation split: configs/tune.yaml).")
    selected = [_selected_row("relu", "learning_rate=0.01"), _selected_row("lrelu", "learning_rate=0.01")]
    with_sweep = verdict_words.verdict_sentences("d", {"cnn/snn": verdict}, {}, selected, [1000], {"cnn/snn": settings})
    assert "own selected setting" in with_sweep[1] and not any("shared" in s for s in with_sweep)


def test_an_interval_that_excludes_zero_but_fails_holm_says_so():
    row = {"decision": "undecided", "pairs": 3, "ci_low": 0.0001, "ci_high": 0.0122, "seeds_to_decide": 13,
           "seeds_for_equivalence": 26, "margin": 0.01}
    assert verdict_words.decision_words(row) == (
        "undecided (its interval excludes 0, but not after the step-down across 3 pairs): ~13 seeds would show the "
        "difference or ~26 would show equivalence (80% power)")
    assert "Holm" not in verdict_words.decision_words({**row, "ci_low": -0.001})


def test_an_undecided_pair_names_the_nearer_end_first():
    alike = {"decision": "undecided", "ci_low": -0.025, "ci_high": 0.027, "seeds_to_decide": 12982,
             "seeds_for_equivalence": 74, "margin": 0.01}
    assert verdict_words.decision_words(alike) == (
        "undecided: ~74 seeds would show equivalence or ~12,982 would show the difference (80% power)")
    tie = verdict_words.decision_words({**alike, "seeds_to_decide": 74})
    assert tie == "undecided: ~74 seeds would show the difference or ~74 would show equivalence (80% power)"
    only = verdict_words.decision_words({**alike, "seeds_to_decide": None})
    assert only == "undecided: ~74 seeds would show equivalence (80% power)"


def test_a_diverged_seed_keeps_every_pair_in_one_family_with_its_looks_and_is_named():
    # the example: relu, lrelu and selu at seeds 0-2 grown to 8, selu's seed 2 diverged
    runs = _seeds({"relu": (0.86, 0.85, 0.87, 0.86, 0.85), "lrelu": (0.85, 0.85, 0.86, 0.85, 0.845),
                   "selu": (0.84, 0.83, 0.80, 0.835, 0.83)})
    runs["d", "cnn", "snn", "selu", 2] = _run(diverged=300)
    accuracy = accuracy_tables.accuracy_rows(runs, [SETUP], ["relu", "lrelu", "selu"])
    design = accuracy_tables.Design(0.01, ((0, 1, 2), (0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6, 7)))
    rows = accuracy_tables.comparison_rows(runs, accuracy, SETUP, design)
    assert [r["pairs"] for r in rows] == [3, 3, 3] and all(r["looks"] == 3 for r in rows)
    selu = [r for r in rows if r["activation_b"] == "selu"]
    assert [r["seeds"] for r in selu] == [[0, 1, 3, 4]] * 2 and all(r["diverged"] == "selu seed 2" for r in selu)
    assert all(r["method"].startswith("paired t over 4 seeds") for r in selu)
    table = verdict_words.verdict_table(accuracy_tables.verdict(accuracy, rows, SETUP), "cnn/snn", "one setting")
    assert table["diverged"] == "selu seed 2"


def test_a_pair_decided_at_an_early_look_stays_as_it_was_while_another_goes_on():
    # relu - selu is decided at look 1; relu - lrelu is not, so seeds 3 and 4 are trained, and there relu - selu
    # reverses: it is not tested again
    runs = _seeds({"relu": (0.860, 0.861, 0.862, 0.80, 0.80), "lrelu": (0.855, 0.866, 0.850, 0.85, 0.86),
                   "selu": (0.820, 0.8205, 0.8215, 0.85, 0.86)})
    accuracy = accuracy_tables.accuracy_rows(runs, [SETUP], ["relu", "lrelu", "selu"])
    design = accuracy_tables.Design(0.01, ((0, 1, 2), (0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6, 7)))
    rows = {(r["activation_a"], r["activation_b"]): r for r in accuracy_tables.comparison_rows(runs, accuracy, SETUP,
                                                                                               design)}
    decided = rows.get(("relu", "selu")) or rows[("selu", "relu")]
    assert decided["decided_at_look"] == 1 and decided["seeds"] == [0, 1, 2]
    assert decided["method"] == "paired t over 3 seeds, decided at look 1 of 3"
    assert verdict_words.decision_words(decided).endswith("(look 1 of 3, 3 seeds)")


def test_the_words_say_ahead_by_less_than_the_margin_and_why_zero_spread_decides_nothing():
    row = {"decision": "ahead", "within_margin": True, "margin": 0.01, "looks": 1}
    assert verdict_words.decision_words(row) == "ahead by less than the 1-point margin"
    flat = {"decision": "undecided", "zero_spread": True, "ci_low": 0.0005, "ci_high": 0.0005, "margin": 0.01}
    assert verdict_words.decision_words(flat).startswith("undecided: every seed gave the same difference")
    runs = _seeds({"relu": (0.8505, 0.8605), "lrelu": (0.850, 0.860)})
    _, comparisons, _ = _verdict(runs)
    assert comparisons[0]["decision"] == "undecided" and comparisons[0]["zero_spread"]


def _crossed(table, setup=("d", "cnn", "snn"), activation="relu", diverged=()):
    """(runs, crossed metrics) of a crossed table of test accuracies (rows: seeds, columns: batch-order seeds): the
    diagonal as joint runs, the rest as runs with a batch order of their own; ``diverged``: cells that diverged."""
    runs, crossed = {}, []
    for i, line in enumerate(table):
        for j, accuracy in enumerate(line):
            run = _run(correct=_correct(accuracy, None, 10 * i + j), diverged=300 if (i, j) in diverged else None)
            if i == j:
                runs[(*setup, activation, i)] = run
            else:
                crossed.append({**run["metrics"], "dataset": setup[0], "architecture": setup[1], "recipe": setup[2],
                                "activation": activation, "seed": i, "settings": {"order_seed": j}})
    return runs, crossed


def test_the_spread_is_split_from_the_crossed_table_with_its_diagonal_the_joint_runs():
    table = [[0.80, 0.81, 0.80], [0.84, 0.86, 0.85], [0.82, 0.82, 0.83]]
    runs, crossed = _crossed(table)
    [row] = spread.spread_rows(runs, crossed, [("d", "cnn", "snn")], ["relu", "selu"])
    correct = np.array([[_correct(accuracy, None, 10 * i + j) for j, accuracy in enumerate(line)]
                        for i, line in enumerate(table)])
    expected = variance_split(table, correct)
    assert (row["activation"], row["seeds"], row["cells"]) == ("relu", [0, 1, 2], 9)
    assert row["accuracy_mean"] == pytest.approx(np.mean(table))
    for source, (estimate, low, high, _) in expected.items():
        column = source.replace(" ", "_")
        assert row[f"std_{column}"] == pytest.approx(100 * math.sqrt(estimate))
        assert row[f"std_low_{column}"] <= row[f"std_{column}"] <= row[f"std_high_{column}"]
    assert sum(row[f"share_{s.replace(' ', '_')}"] for s in spread.SOURCES) == pytest.approx(1)
    assert spread.largest_source(row) == "initialisation"  # the rows differ, the columns hardly
    assert set(row) == set(spread.SPREAD_COLUMNS)
    total = math.sqrt(sum(part.estimate for part in expected.values())) * 100
    assert spread.spread_sentence([row], "cnn/snn") == (
        f"cnn/snn, where one run's test accuracy spreads from (crossed 3 x 3 seeds, std in points): relu {total:.2f}, "
        "largest part: initialisation. With 3 x 3 seeds the largest is named right about 3 times in 4 where it is "
        "four times the next: read the intervals in the table.")


def test_a_crossed_table_with_a_diverged_cell_has_no_split_and_says_why():
    runs, crossed = _crossed([[0.80, 0.81], [0.84, 0.86]], diverged={(0, 1)})
    [row] = spread.spread_rows(runs, crossed, [("d", "cnn", "snn")], ["relu"])
    assert row["accuracy_mean"] is None and row["method"] == "no split: 3 of 4 cells finished without diverging"
    assert spread.largest_source(row) is None and spread.spread_sentence([row], "cnn/snn") is None


def test_without_crossed_runs_there_is_no_spread_row():
    runs, _ = _crossed([[0.80, 0.81], [0.84, 0.86]])
    assert spread.spread_rows(runs, [], [("d", "cnn", "snn")], ["relu"]) == []


def _runs_on(datasets, accuracies, setup=("cnn", "snn")):
    """Runs of ``accuracies`` {activation: [[dataset 1's seeds], [dataset 2's], ...]} on ``datasets``."""
    return {(d, *setup, activation, seed): _run(value) for activation, per_dataset in accuracies.items()
            for d, values in zip(datasets, per_dataset) for seed, value in enumerate(values)}


def test_across_datasets_each_pair_has_its_probability_of_improvement_and_the_mean_ranks():
    accuracies = {"relu": [[0.85, 0.86, 0.84], [0.70, 0.72, 0.71]], "selu": [[0.83, 0.84, 0.85], [0.69, 0.70, 0.68]],
                  "lrelu": [[0.80, 0.81, 0.80], [0.73, 0.74, 0.72]]}
    [block] = across_tables.across_rows(_runs_on(["a", "b"], accuracies), ["a", "b"], ["cnn"], ["snn"],
                                        ["relu", "selu", "lrelu"])
    # ranks: a: relu 1, selu 2, lrelu 3; b: lrelu 1, relu 2, selu 3
    assert block["ranks"] == {"relu": 1.5, "selu": 2.5, "lrelu": 2.0} and block["order"] == ["relu", "lrelu", "selu"]
    assert [(p["activation_a"], p["activation_b"]) for p in block["pairs"]] == [("relu", "lrelu"), ("relu", "selu"),
                                                                                ("lrelu", "selu")]
    relu_selu = block["pairs"][1]
    assert relu_selu["probability"] == pytest.approx(probability_of_improvement(accuracies["relu"],
                                                                                accuracies["selu"]))
    assert relu_selu["ci_low"] <= relu_selu["probability"] <= relu_selu["ci_high"]
    assert block["seeds"]["relu"] == [3, 3] and set(relu_selu) == set(across_tables.ACROSS_COLUMNS)
    assert block["few"].startswith("2 datasets are few") and "not on datasets in general" in block["few"]


def test_one_dataset_has_no_across_block_and_a_dataset_an_activation_lacks_is_left_out():
    one = _runs_on(["a"], {"relu": [[0.8, 0.81]], "selu": [[0.79, 0.8]]})
    assert across_tables.across_rows(one, ["a"], ["cnn"], ["snn"], ["relu", "selu"]) == []
    runs = _runs_on(["a", "b", "c"], {"relu": [[0.8], [0.7], [0.6]], "selu": [[0.79], [0.71], [0.5]]})
    runs[("c", "cnn", "snn", "selu", 0)]["metrics"].update(test_accuracy=None, diverged_at_step=5)
    [block] = across_tables.across_rows(runs, ["a", "b", "c"], ["cnn"], ["snn"], ["relu", "selu"])
    assert block["datasets"] == ["a", "b"] and block["left_out"] == ["c"]
