"""Sweeps: the trials a config names, the checks of its sweep, and the selection on the validation split."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from actviz.errors import UserError
from actviz.evaluation import pack_bits
from actviz.settings import TrainSettings
from actviz.sweeps import (
    SWEEPABLE,
    check_rungs,
    check_sweep,
    halved,
    rungs,
    select,
    select_from_files,
    trial_name,
    trials,
)

BASE = TrainSettings()


def test_every_combination_is_a_trial_in_the_configs_order():
    named = trials({"learning_rate": [0.0003, 0.001], "optimizer": ["adam", "sgd"]})
    assert [name for name, _ in named] == ["learning_rate=0.0003,optimizer=adam", "learning_rate=0.0003,optimizer=sgd",
                                           "learning_rate=0.001,optimizer=adam", "learning_rate=0.001,optimizer=sgd"]
    assert named[1][1] == {"learning_rate": 0.0003, "optimizer": "sgd"}
    assert trials({}) == [] and trial_name({"lr_weight_decay": True}) == "lr_weight_decay=true"


def test_values_written_as_text_become_the_settings_types():
    # YAML reads 1e-4 as text, and --config gives every value as text
    assert check_sweep({"learning_rate": ["1e-4", 0.001], "depth": ["8"], "lr_weight_decay": ["true"]}, BASE) == \
        {"learning_rate": [0.0001, 0.001], "depth": [8], "lr_weight_decay": [True]}


@pytest.mark.parametrize("sweep, words", [
    ({"steps": [100, 200]}, "'steps' is not a setting a sweep can vary"),
    ({"seed": [0, 1]}, "'seed' is not a setting a sweep can vary"),
    ({"learning_rate": []}, "learning_rate: a non-empty list of values"),
    ({"learning_rate": 0.001}, "learning_rate: a non-empty list of values"),
    ({"learning_rate": [0.001, -1.0]}, "learning_rate must be above 0, got -1.0"),
    ({"dropout": [0.0, 1.0]}, "dropout must be below 1, got 1.0"),
    ({"optimizer": ["adam", "adagrad"]}, "unknown optimizer 'adagrad'"),
    ({"depth": [2.5]}, "depth: 2.5 is not a whole number"),
    ({"learning_rate": ["fast"]}, "learning_rate: 'fast' is not a finite number"),
    ({"learning_rate": [float("nan")]}, "learning_rate: nan is not a finite number"),
    ({"batch_size": [64, 64]}, "batch_size: a value is listed twice"),
    (["learning_rate"], "a mapping of settings to lists of values"),
])
def test_a_bad_sweep_is_one_line_naming_its_key(sweep, words):
    with pytest.raises(UserError, match=r"^config: sweep: ") as error:
        check_sweep(sweep, BASE)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_every_sweepable_key_is_a_training_setting_a_trial_may_change():
    assert set(SWEEPABLE) <= set(BASE.as_dict()) and not {"architecture", "recipe", "seed", "steps"} & set(SWEEPABLE)


SWEEP = {"learning_rate": [0.0001, 0.0003, 0.001, 0.003]}
NAMES = [name for name, _ in trials(SWEEP)]
RESULT = st.one_of(st.tuples(st.sampled_from([0.5, 0.6, 0.7, 0.8]), st.none()),  # few values: ties are common
                   st.tuples(st.none(), st.integers(0, 800)))  # diverged at a step


@given(results=st.lists(st.lists(RESULT, min_size=1, max_size=3), min_size=4, max_size=4))
@settings(max_examples=300, derandomize=True, database=None)
def test_the_selection_is_the_first_best_mean_validation_accuracy_of_the_trials_that_never_diverged(results):
    by_trial = dict(zip(NAMES, results))
    chosen = select(by_trial, SWEEP)
    finite = {name: sum(a for a, _ in seeds) / len(seeds) for name, seeds in by_trial.items()
              if all(step is None for _, step in seeds)}
    if not finite:
        assert chosen["trial"] is None and chosen["settings"] is None
        return
    best = max(finite.values())
    assert chosen["trial"] == next(name for name in NAMES if finite.get(name) == best)  # ties: the config's order
    assert chosen["validation_accuracy"] == best and chosen["settings"] == dict(trials(SWEEP))[chosen["trial"]]


def _trial_metrics(folder, name, seed, accuracy, diverged=None, activation="relu", steps=800, correct=None):
    path = folder / name / f"seed{seed}" / f"steps{steps}" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": activation,
                                "seed": seed, "final_step": steps, "validation_accuracy": accuracy,
                                "validation_loss": 0.5, "diverged_at_step": diverged, "validation_size": 1000,
                                "validation_correct": None if correct is None else pack_bits(correct)}))
    return name, path


def test_the_selection_file_equals_the_argmax_recomputed_from_the_trials(tmp_path):
    files = [_trial_metrics(tmp_path, NAMES[0], 0, 0.80), _trial_metrics(tmp_path, NAMES[0], 1, 0.70),
             _trial_metrics(tmp_path, NAMES[1], 0, 0.75), _trial_metrics(tmp_path, NAMES[1], 1, 0.75),
             _trial_metrics(tmp_path, NAMES[2], 0, 0.90), _trial_metrics(tmp_path, NAMES[2], 1, None, diverged=33),
             _trial_metrics(tmp_path, NAMES[3], 0, 0.60), _trial_metrics(tmp_path, NAMES[3], 1, 0.60)]
    selection = select_from_files(SWEEP, files, tmp_path / "selection.json")
    # 0.75 = 0.75: a tie, the first in the config's order wins; the best seed (0.90) belongs to a diverged trial
    assert selection["trial"] == NAMES[0] and selection["validation_accuracy"] == pytest.approx(0.75)
    assert json.loads((tmp_path / "selection.json").read_text())["trial"] == NAMES[0]
    assert selection["run"] == "d/cnn/snn/relu" and len(selection["results"][NAMES[2]]) == 2


def test_trials_of_another_activation_or_outside_the_sweep_are_refused(tmp_path):
    with pytest.raises(UserError, match="a trial of"):
        select_from_files(SWEEP, [_trial_metrics(tmp_path, NAMES[0], 0, 0.8),
                                  _trial_metrics(tmp_path / "other", NAMES[0], 0, 0.8, activation="selu")],
                          tmp_path / "s.json")
    with pytest.raises(UserError, match="is not one of this rung's"):
        select_from_files(SWEEP, [_trial_metrics(tmp_path / "x", "learning_rate=9", 0, 0.8)], tmp_path / "s.json")


def test_sensitivity_takes_the_best_trial_at_each_value_with_its_seeds_range_and_marks_what_diverged():
    from actviz.report.sweep_tables import sensitivity

    def row(rate, optimizer, seed, accuracy, diverged=None):
        return {"dataset": "d", "architecture": "cnn", "recipe": "snn", "activation": "relu",
                "trial": f"learning_rate={rate},optimizer={optimizer}", "learning_rate": rate, "optimizer": optimizer,
                "seed": seed, "validation_accuracy": accuracy, "diverged_at_step": diverged}

    rows = [row(0.001, "adam", 0, 0.80), row(0.001, "adam", 1, 0.84), row(0.001, "sgd", 0, 0.70),
            row(0.001, "sgd", 1, 0.72), row(10.0, "adam", 0, None, 3), row(10.0, "adam", 1, 0.5),
            row(10.0, "sgd", 0, None, 9), row(10.0, "sgd", 1, None, 9)]
    curves = sensitivity(rows, ("d", "cnn", "snn"), ["learning_rate", "optimizer"], ["relu", "selu"])
    assert curves["learning_rate"]["relu"] == [(0.001, pytest.approx(0.82), 0.80, 0.84), (10.0, None, None, None)]
    # sgd's best is at 0.001 (its trial at 10 diverged); adam's too (a diverged seed disqualifies the whole trial)
    assert curves["optimizer"]["relu"] == [("adam", pytest.approx(0.82), 0.80, 0.84),
                                           ("sgd", pytest.approx(0.71), 0.70, 0.72)]
    assert "selu" not in curves["learning_rate"]  # no trials of it


@pytest.mark.parametrize("sweep_rungs, sweep, words", [
    ([200, 400, 800], {}, "successive halving compares a sweep's trials; sweep is empty"),
    ([400, 200, 800], SWEEP, "steps in increasing order, got [400, 200, 800]"),
    ([200, 400], SWEEP, "the last rung is the final runs' length, steps=800; got 400"),
    ([200, 1600], SWEEP, "the last rung is the final runs' length, steps=800; got 1600"),
])
def test_bad_rungs_are_one_line_naming_the_key(sweep_rungs, sweep, words):
    with pytest.raises(UserError, match=r"^config: sweep_rungs: ") as error:
        check_rungs(sweep_rungs, sweep, 800)
    assert words in str(error.value)


def test_a_grid_is_one_rung_at_the_runs_length():
    check_rungs([], {}, 800)
    check_rungs([200, 400, 800], SWEEP, 800)
    assert rungs([], 800) == [800] and rungs([200, 800], 800) == [200, 800]
    assert [halved(n) for n in (1, 2, 3, 4, 5, 8)] == [1, 1, 2, 2, 3, 4]


@given(results=st.lists(st.lists(RESULT, min_size=1, max_size=3), min_size=4, max_size=4),
       candidates=st.sets(st.sampled_from(NAMES), min_size=1))
@settings(max_examples=300, derandomize=True, database=None)
def test_a_rung_keeps_the_better_half_of_its_candidates_that_never_diverged(results, candidates):
    by_trial = {name: seeds for name, seeds in zip(NAMES, results) if name in candidates}
    kept = select(by_trial, SWEEP, candidates, halved(len(candidates)))
    finite = {name: sum(a for a, _ in seeds) / len(seeds) for name, seeds in by_trial.items()
              if all(step is None for _, step in seeds)}
    # recomputed: best mean first, ties to the config's order, at most half (rounded up), none diverged
    expected = sorted(finite, key=lambda name: (-finite[name], NAMES.index(name)))[:halved(len(candidates))]
    assert kept["survivors"] == expected and kept["trial"] == (expected[0] if expected else None)
    assert [name for name, _ in kept["ranked"]] == [name for name in NAMES if name in candidates]


def test_halving_extends_the_better_half_and_the_last_rung_selects_among_them(tmp_path):
    first = [_trial_metrics(tmp_path, NAMES[0], 0, 0.70, steps=200), _trial_metrics(tmp_path, NAMES[1], 0, 0.75,
                                                                                     steps=200),
             _trial_metrics(tmp_path, NAMES[2], 0, 0.72, steps=200), _trial_metrics(tmp_path, NAMES[3], 0, None,
                                                                                     diverged=50, steps=200)]
    rung200 = select_from_files(SWEEP, first, tmp_path / "steps200.json", 200, last=False)
    assert rung200["survivors"] == [NAMES[1], NAMES[2]]  # 2 of 4; the diverged one never
    second = [_trial_metrics(tmp_path, NAMES[1], 0, 0.80, steps=400), _trial_metrics(tmp_path, NAMES[2], 0, 0.83,
                                                                                      steps=400)]
    with pytest.raises(UserError, match="is not one of this rung's"):  # stopped at 200: not extended
        select_from_files(SWEEP, [_trial_metrics(tmp_path, NAMES[0], 0, 0.9, steps=400)], tmp_path / "x.json", 400,
                          rung200, last=True)
    rung400 = select_from_files(SWEEP, second, tmp_path / "steps400.json", 400, rung200, last=True)
    assert rung400["trial"] == NAMES[2] and rung400["survivors"] == [NAMES[2]]  # the later leader wins
    # every trial's result at the last rung it reached, and the rungs so far
    assert {name: r[0]["steps"] for name, r in rung400["results"].items()} == {NAMES[0]: 200, NAMES[1]: 400,
                                                                               NAMES[2]: 400, NAMES[3]: 200}
    assert [(r["steps"], r["trials"], r["survivors"]) for r in rung400["rungs"]] == [
        (200, NAMES, [NAMES[1], NAMES[2]]), (400, [NAMES[1], NAMES[2]], [NAMES[2]])]
    assert rung400["trials"] == 4 and json.loads((tmp_path / "steps400.json").read_text())["trial"] == NAMES[2]


def test_when_every_trial_of_a_rung_diverged_none_goes_on_and_none_is_selected(tmp_path):
    first = [_trial_metrics(tmp_path, name, 0, None, diverged=5, steps=200) for name in NAMES]
    rung200 = select_from_files(SWEEP, first, tmp_path / "steps200.json", 200, last=False)
    assert rung200["survivors"] == [] and rung200["trial"] is None
    rung400 = select_from_files(SWEEP, [], tmp_path / "steps400.json", 400, rung200, last=True)
    assert rung400["trial"] is None and rung400["run"] == "d/cnn/snn/relu" and len(rung400["results"]) == 4


def _validation_pair(both, only_a, only_b):
    """Two trials' results on 1,000 validation images: ``both`` right by both, then ``only_a``, then ``only_b``."""
    a, b = np.zeros(1000, bool), np.zeros(1000, bool)
    a[:both] = b[:both] = True
    a[both:both + only_a] = True
    b[both + only_a:both + only_a + only_b] = True
    return a, b


@pytest.mark.parametrize("only_a, only_b, apart", [(40, 10, True), (22, 18, False)])
def test_with_one_seed_the_best_trial_is_tested_against_the_runner_up_image_by_image(tmp_path, only_a, only_b, apart):
    a, b = _validation_pair(800, only_a, only_b)
    worse = np.zeros(1000, bool)
    files = [_trial_metrics(tmp_path, NAMES[0], 0, b.mean(), correct=b), _trial_metrics(tmp_path, NAMES[1], 0, a.mean(),
                                                                                       correct=a),
             _trial_metrics(tmp_path, NAMES[2], 0, 0.1, correct=worse), _trial_metrics(tmp_path, NAMES[3], 0, None, 7)]
    margin = select_from_files(SWEEP, files, tmp_path / "s.json", 800)["rungs"][-1]["margin"]
    assert (margin["best"], margin["runner_up"]) == (NAMES[1], NAMES[0])
    # the exact binomial test on the discordant images, computed here independently
    assert margin["p_value"] == pytest.approx(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
    assert margin["difference"] == pytest.approx((only_a - only_b) / 1000)
    assert (margin["ci_low"] > 0) == apart and margin["method"] == "exact McNemar, 1000 validation images"


def test_with_several_seeds_the_margin_is_paired_by_seed_and_absent_without_a_runner_up(tmp_path):
    files = [_trial_metrics(tmp_path, NAMES[0], 0, 0.80), _trial_metrics(tmp_path, NAMES[0], 1, 0.82),
             _trial_metrics(tmp_path, NAMES[1], 0, 0.78), _trial_metrics(tmp_path, NAMES[1], 1, 0.79),
             _trial_metrics(tmp_path, NAMES[2], 0, None, 5), _trial_metrics(tmp_path, NAMES[2], 1, 0.9)]
    margin = select_from_files({"learning_rate": SWEEP["learning_rate"][:3]}, files, tmp_path / "s.json")["rungs"][0][
        "margin"]
    assert margin["runner_up"] == NAMES[1] and margin["difference"] == pytest.approx(0.025)
    assert margin["p_value"] == pytest.approx(stats.ttest_rel([0.80, 0.82], [0.78, 0.79]).pvalue)
    alone = select_from_files({"learning_rate": SWEEP["learning_rate"][:1]}, files[:2], tmp_path / "t.json")
    assert alone["rungs"][0]["margin"] is None
