"""The report renders whatever the runs did: random studies (1-3 datasets, architectures, recipes,
activations, seeds) whose every run finished, diverged at some step, diverged at step 0 (NaN from the
start) or ended with NaN and infinite activations, built from two real small runs' files as
``bench/report_benchmark.py`` copies them. Every case renders, names every diverged run in the HTML,
shows every finished run's accuracy, and writes strict JSON and CSVs with their headers.

Derandomised (the same cases every run, so CI cannot flake); HYPOTHESIS_PROFILE=explore draws new
ones and more of them.
"""

import csv
import html as html_module
import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_benchmark import OUTCOMES, copy_run, template_run, write_dataset

from actviz.report.render import ReportInputs, ReportOutputs, render_report
from actviz.settings import ReportSettings

# Profiles of their own: hypothesis' profiles are global, and the own-dataset fuzz test has its "ci" one.
settings.register_profile("report-ci", max_examples=15, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("report-explore", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
pytestmark = pytest.mark.slow  # 15 reports drawn whole: about a minute

PROFILE = "report-" + os.environ.get("HYPOTHESIS_PROFILE", "ci")

ARCHITECTURES = ("cnn", "mlp2")
ACTIVATIONS = ("relu", "selu", "tanh")
TEST_IMAGES = 2000


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """One real run per architecture (20 steps, 16 probe images): the files every case copies."""
    from actviz.runs import configure_threads

    configure_threads(2)
    folder = tmp_path_factory.mktemp("templates")
    return {a: template_run(folder, a, probe_images=16)[1] for a in ARCHITECTURES}


OUTCOME = st.one_of(st.just(("finished", None)), st.just(("non-finite activations", None)),
                    st.just(("diverged at step 0", 0)), st.tuples(st.just("diverged"), st.integers(1, 20)))


@st.composite
def studies(draw):
    """{(dataset, architecture, recipe, activation, seed): (outcome, diverged_at)}, with at most four setups."""
    datasets = [f"data{i}" for i in range(draw(st.integers(1, 3)))]
    architectures = draw(st.lists(st.sampled_from(ARCHITECTURES), min_size=1, max_size=2, unique=True))
    recipes = draw(st.lists(st.sampled_from(("snn", "seed")), min_size=1, max_size=2, unique=True))
    if len(datasets) * len(architectures) * len(recipes) > 4:
        recipes = recipes[:1]
        architectures = architectures[: max(1, 4 // len(datasets))]
    activations = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=1, max_size=3, unique=True))
    seeds = list(range(draw(st.integers(1, 3))))
    keys = list(itertools.product(datasets, architectures, recipes, activations, seeds))
    everything = draw(st.sampled_from([None, *OUTCOMES]))  # sometimes the whole study ends one way
    return {key: (everything, 0 if everything == "diverged at step 0" else 7) if everything else draw(OUTCOME)
            for key in keys}


def build(templates, root, study):
    """Every run of ``study`` copied under ``root``; the report's inputs as lists of paths."""
    rng = np.random.default_rng(len(study))
    labels = rng.integers(0, 10, TEST_IMAGES)
    files = {"metrics": [], "training_stats": [], "stats": [], "activations": [], "predictions": []}
    datasets = sorted({key[0] for key in study})
    data = [write_dataset(root / "data" / f"{d}.h5", d, labels) for d in datasets]
    metrics = {}
    for key, (outcome, step) in study.items():
        ident = dict(zip(("dataset", "architecture", "recipe", "activation", "seed"), key))
        copied = copy_run(templates[key[1]], root.joinpath(*map(str, key)), ident, labels, rng, outcome, step)
        for kind, path in copied.items():
            files[kind].append(path)
        metrics[key] = json.loads(copied["metrics"].read_text())
    return ReportInputs(datasets=data, **files), metrics


def outputs(folder):
    return ReportOutputs(*(folder / name for name in (
        "report.html", "accuracy.csv", "comparisons.csv", "per_class.csv", "confusion.csv", "layer_stats.csv",
        "training_stats.csv", "learning_curves.csv", "report.json")))


def _strict(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def check_report(templates, study):
    """Render ``study``; every diverged run is named where its numbers would have been, every finished run's
    accuracy is shown, report.json is strict JSON and every table keeps its header."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        inputs, metrics = build(templates, root, study)
        out = outputs(root / "report")
        config = {key: list(dict.fromkeys(str(k[i]) if i < 4 else k[i] for k in study))
                  for i, key in enumerate(("datasets", "architectures", "recipes", "activations", "seeds"))}
        render_report(inputs, ReportSettings(), config, out)
        page = " ".join(html_module.unescape(Path(out.html).read_text()).split())  # as a reader sees it
        numbers = _strict(Path(out.numbers_json).read_text())
        for (dataset, architecture, recipe, activation, seed), run in metrics.items():
            step = run["diverged_at_step"]
            if step is None:  # its accuracy in the runs table
                assert f"{run['test_accuracy']:.4f}" in page
            else:  # named where its numbers would have been: the summary, the accuracy table, the runs table
                named = f"{activation} ({architecture}/{recipe}, seed {seed} at step {step})"
                assert named in page and named in numbers["left_out"][dataset]
                assert f"seed {seed} at step {step}" in page
        finished = {k for k, run in metrics.items() if run["diverged_at_step"] is None}
        assert {(r["dataset"], r["architecture"], r["recipe"], r["activation"], int(r["seed"]))
                for r in numbers["runs"] if r["diverged_at_step"] is None} == finished
        for name in ("accuracy_csv", "comparisons_csv", "per_class_csv", "confusion_csv", "layer_stats_csv",
                     "curves_csv"):
            with open(getattr(out, name), newline="") as f:
                header = next(csv.reader(f), None)
            assert header, f"{name} has no header"
        return page, numbers


@settings(settings.get_profile(PROFILE))
@given(study=studies())
def test_every_mix_of_outcomes_renders_a_report_that_names_what_happened(templates, study):
    check_report(templates, study)


FINISHED, DIVERGED = ("finished", None), ("diverged", 7)


def _study(outcome, datasets=("data0",), activations=("relu", "selu"), seeds=(0,), recipes=("snn",)):
    return {key: outcome(key) for key in itertools.product(datasets, ("cnn",), recipes, activations, seeds)}


# Each mix that broke the report before (issue 20), by name; the property test draws others.
MIXES = {
    "every run of a setup diverged": _study(lambda k: DIVERGED if k[2] == "seed" else FINISHED,
                                            recipes=("snn", "seed")),
    "every run of a dataset diverged": _study(lambda k: DIVERGED if k[0] == "data1" else FINISHED,
                                              datasets=("data0", "data1")),
    "every run of the study diverged": _study(lambda k: DIVERGED),
    "a run diverged at step 0": _study(lambda k: ("diverged at step 0", 0) if k[3] == "relu" else FINISHED),
    "one activation only, diverged": _study(lambda k: DIVERGED, activations=("relu",)),
    "one activation only, finished": _study(lambda k: FINISHED, activations=("relu",)),
    "non-finite activations after the last step": _study(
        lambda k: ("non-finite activations", None) if k[3] == "relu" else FINISHED),
    "all seeds but one diverged": _study(lambda k: DIVERGED if k[4] > 0 else FINISHED, seeds=(0, 1, 2)),
}


@pytest.mark.parametrize("mix", list(MIXES))
def test_each_outcome_mix_renders_and_says_what_happened(templates, mix):
    page, numbers = check_report(templates, MIXES[mix])
    summary = numbers["summary"]
    if mix == "every run of a setup diverged":
        assert "cnn/seed: every run diverged, relu (seed 0 at step 7), selu (seed 0 at step 7): nothing to compare." \
            in summary["data0"]
        assert "No layer sections: every run of cnn/seed diverged." in page
        assert "<h4>cnn/seed · conv1</h4>" not in page and "<h4>cnn/snn · conv1</h4>" in page
    if mix == "every run of a dataset diverged":
        assert summary["data1"][0].startswith("Every run on data1 diverged")
        assert "No learning curves: every run on data1 diverged" in page
    if mix == "one activation only, diverged":  # the config: the report says the run diverged, and where
        assert numbers["verdicts"]["data0"][1] == "cnn/snn: every run diverged, relu (seed 0 at step 7): nothing to " \
                                                  "compare."
        assert "No depth profile: no run of cnn/snn finished" in page
    if mix == "a run diverged at step 0":
        assert "cnn/snn: relu (seed 0 at step 0) diverged in every seed; it is not compared." in summary["data0"]
    if mix == "non-finite activations after the last step":  # a tenth NaN, a tenth infinite: 20% of each layer
        assert "relu, seed 0: 20.0% of this layer's values are NaN or infinite" in page
        assert all(r["nonfinite_fraction"] == pytest.approx(0.2, abs=0.01) for r in numbers["layers"]
                   if r["activation"] == "relu")
    if mix == "all seeds but one diverged":
        accuracy = {r["activation"]: r for r in numbers["accuracy"]}
        assert accuracy["relu"]["seeds"] == [0] and accuracy["relu"]["interval"] == f"Wilson, {TEST_IMAGES} test images"
