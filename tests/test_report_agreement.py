"""The report's "Do two trainings agree?" and "Do the layers compute the same thing?" parts from fabricated runs with
recorded predictions (no TensorFlow): their numbers, the decisions on every axis, the exports, the self-tests."""

import itertools
import json

import numpy as np
import pytest
from test_report import CLASSES, TEST_IMAGES, _fake_runs, _table

from actviz import agreement
from actviz.evaluation import Evaluation, write_predictions
from actviz.report.axes import AXES
from actviz.report.render import ReportInputs, ReportOutputs, render_report
from actviz.settings import ReportSettings

SEEDS = range(4)
ACCURACY = {("snn", activation, seed): 0.8 + 0.01 * seed for activation in ("relu", "selu") for seed in SEEDS}


def _predictions(folder, files, rng):
    """A predictions.h5 beside each fake run's metrics (its stem), consistent with its accuracy: relu's runs get
    their wrong images at random (more churn), selu's mostly the same hard images."""
    labels = np.arange(TEST_IMAGES) % len(CLASSES)
    hard = rng.permutation(TEST_IMAGES)
    paths = []
    for path in files["metrics"]:
        metrics = json.loads(open(path).read())
        wrong_count = TEST_IMAGES - round(metrics["test_accuracy"] * TEST_IMAGES)
        wrong = rng.permutation(TEST_IMAGES)[:wrong_count] if metrics["activation"] == "relu" else hard[:wrong_count]
        predicted = labels.copy()
        predicted[wrong] = (labels[wrong] + 1) % len(CLASSES)
        probabilities = np.full((TEST_IMAGES, len(CLASSES)), 0.02)
        probabilities[np.arange(TEST_IMAGES), predicted] = 0.82
        target = path.replace(".metrics.json", ".predictions.h5")
        write_predictions(target, Evaluation(0.5, labels, predicted, probabilities.astype(np.float16)), len(CLASSES),
                          run=metrics["activation"], split="test", step=100)
        paths.append(target)
    return paths


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agreement")
    files = _fake_runs(folder, accuracy=ACCURACY)
    # the fake runs' files sit side by side: each run's predictions are found beside its metrics by folder, so one
    # folder a run
    runs = {}
    for key, paths in files.items():
        for path in paths:
            stem = path.rsplit("/", 1)[1].split(".")[0]
            runs.setdefault(stem, {})[key] = path
    moved = {key: [] for key in files}
    for stem, paths in runs.items():
        (folder / stem).mkdir()
        for key, path in paths.items():
            target = folder / stem / path.rsplit("/", 1)[1]
            (folder / path.rsplit("/", 1)[1]).rename(target)
            moved[key].append(str(target))
    predictions = _predictions(folder, moved, np.random.default_rng(1))
    config = {"activations": ["selu", "relu"], "recipes": ["snn"], "datasets": ["Fake<b>"], "seeds": list(SEEDS)}
    tables = folder / "tables"
    outputs = {name: tables / f"{name.removesuffix('_csv').removesuffix('_json')}.csv" for name in
               ReportOutputs.__dataclass_fields__ if name != "html"}
    outputs.update(html=folder / "report.html", numbers_json=tables / "report.json", curves_csv=tables / "curves.csv")
    render_report(ReportInputs(datasets=[folder / "data.h5"], predictions=predictions, **moved), ReportSettings(),
                  config, ReportOutputs(**outputs))
    return folder, json.loads((folder / "tables" / "report.json").read_text()), predictions


def test_churn_and_calibration_of_each_activation_are_their_seeds_own(report):
    folder, numbers, paths = report
    rows = {r["activation"]: r for r in numbers["agreement"]["rows"]}
    assert set(rows) == {"relu", "selu"} and rows["relu"]["seed_pairs"] == 6  # every two of 4 seeds
    from actviz.evaluation import read_predictions

    runs = {p: read_predictions(p) for p in paths}
    relu = [runs[p] for p in paths if "/snn-relu" in p]
    expected = np.mean([agreement.churn(a["predicted"], b["predicted"]) for a, b in itertools.combinations(relu, 2)])
    assert rows["relu"]["churn"] == pytest.approx(expected)
    assert rows["relu"]["churn"] > rows["selu"]["churn"]  # selu's runs are wrong on the same hard images
    assert rows["selu"]["excess_churn"] == pytest.approx(0) and rows["selu"]["least_churn"] > 0
    assert rows["relu"]["churn_low"] <= rows["relu"]["churn"] <= rows["relu"]["churn_high"]
    calibration = [agreement.calibration_error(r["probabilities"], r["labels"]) for r in relu]
    assert rows["relu"]["calibration_error"] == pytest.approx(np.mean(calibration))
    assert len(_table(folder, "seed_pairs.csv")) == 12 and len(_table(folder, "reliability.csv")) == 2 * agreement.BINS


def test_every_axis_of_the_registry_is_compared_exported_and_in_the_verdict_table(report):
    folder, numbers, _ = report
    compared = {r["axis"] for r in _table(folder, "comparisons.csv")}
    assert compared == set(AXES)
    assert {r["axis"] for r in numbers["comparisons"]} == set(AXES)
    table = numbers["verdict_tables"]["Fake<b>"][0]  # one row a pair: accuracy, then a column each other axis
    assert len(table["pairs"]) == 1 and table["axes"] == [axis.title for axis in AXES.values()][1:]
    assert all(decided in (True, False) and words for words, decided in table["pairs"][0]["others"])
    churn = next(r for r in numbers["comparisons"] if r["axis"] == "churn")
    assert churn["method"] == "paired t over 2 disjoint seed pairs" and churn["seeds"] == [0, 1, 2, 3]


def test_cka_per_layer_has_its_seed_baseline_its_decision_and_its_self_tests(report):
    folder, numbers, _ = report
    pairs = numbers["similarity"]["pairs"]
    assert [r["layer"] for r in pairs] == ["conv1", "dense1", "dense2", "logits"]
    assert all(r["p_adjusted"] is not None and r["decision"] in ("within seed noise", "different beyond seed noise")
               for r in pairs)
    tests = numbers["similarity"]["self_tests"][0]
    assert tests["self"] == pytest.approx(1.0)
    assert len(_table(folder, "similarity_layers.csv")) == 2 * 4
    assert {m["kind"] for m in numbers["similarity"]["maps"]} == {"seeds", "activations"}
    html = (folder / "report.html").read_text()
    assert "Do two trainings agree? cnn/snn" in html and "Do the layers compute the same thing? cnn/snn" in html
