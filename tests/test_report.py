"""The HTML report from fabricated runs (no TensorFlow): tables, figures, escaping, exports, what the
summary may claim, diverged runs, layer order."""

import csv
import json
import re

import h5py
import numpy as np
import pytest

from actviz.atomic import write_json
from actviz.errors import UserError
from actviz.evaluation import pack_bits
from actviz.formats import write_dataset_h5
from actviz.report.numbers import config_hash
from actviz.report.render import ReportInputs, ReportOutputs, render_report
from actviz.settings import ReportSettings
from actviz.stats import STAT_COLUMNS, LayerStatistics

SHAPES = {"conv1": (14, 14, 32), "dense1": (160,), "dense2": (40,), "logits": (10,)}  # enough layers, quick to draw
LAYER_NAMES = list(SHAPES)
ACCURACY = {("snn", "relu", 0): 0.80, ("snn", "relu", 1): 0.84, ("snn", "selu", 0): 0.86, ("snn", "selu", 1): 0.88,
            ("seed", "relu", 0): 0.70, ("seed", "selu", 0): 0.75}
STEPS = (0, 50, 100)
TEST_IMAGES = 200
CLASSES = list("abcdefghij")
VERSIONS = {"python": "3.11.7", "tensorflow": "2.21.0", "numpy": "2.4.6"}
OTHER_VERSIONS = {("seed", "selu", 0): {**VERSIONS, "tensorflow": "2.20.0"}}  # trained under another TensorFlow


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _final_evaluation(accuracy, rng):
    """Each of the test images right or wrong (``accuracy`` of them right), and a confusion matrix."""
    labels = np.arange(TEST_IMAGES) % len(CLASSES)
    correct = rng.permutation(np.arange(TEST_IMAGES) < round(accuracy * TEST_IMAGES))
    predictions = np.where(correct, labels, (labels + 1) % len(CLASSES))
    confusion = np.zeros((len(CLASSES), len(CLASSES)), int)
    np.add.at(confusion, (labels, predictions), 1)
    return {"split": "test", "images": TEST_IMAGES, "correct": pack_bits(correct), "confusion": confusion.tolist()}


def _fake_runs(folder, dataset="Fake<b>", accuracy=ACCURACY, shapes=SHAPES):
    """Every file of the runs in ``accuracy`` (default: all), with SELU's dense2 at mean 0.01 / std 1.02
    after training."""
    rng = np.random.default_rng(0)
    last_hidden = list(shapes)[-2]
    files = {k: [] for k in ("metrics", "stats", "activations", "training_stats")}
    for (recipe, activation, seed), value in accuracy.items():
        stem = folder / f"{recipe}-{activation}{seed}"
        ident = {"dataset": dataset, "recipe": recipe, "activation": activation, "seed": seed}
        write_json(f"{stem}.metrics.json", {
            **ident, "final_step": 100, "test_accuracy": value, "test_size": TEST_IMAGES, "train_loss": 0.5,
            "train_seconds": 1.0, "images_per_second": 10.0,
            "versions": OTHER_VERSIONS.get((recipe, activation, seed), VERSIONS),
            "final_evaluation": _final_evaluation(value, rng),
            "evaluations": [{"step": s, "test_loss": 1.0 - s / 200, "test_accuracy": value * s / 100} for s in STEPS],
            "training": [{"step": s, "train_loss": 1.0 / s, "train_accuracy": 0.5} for s in (50, 100)]})
        layers, stats_rows = {}, []
        with h5py.File(f"{stem}.h5", "w") as f:
            f.attrs.update(ident)
            f.create_dataset("probe/images", data=rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8))
            for layer, shape in shapes.items():
                values = rng.normal(size=(5, *shape)).astype(np.float32)
                f.create_dataset(f"activations/{layer}", data=values)
                statistics = LayerStatistics()
                statistics.update(values)
                layers[layer] = {"shape": list(shape), **statistics.result()}
                for step in STEPS:
                    mean, std = (0.01, 1.02) if (activation, step, layer) == ("selu", 100, last_hidden) else (0.5, 2.0)
                    stats_rows.append({**ident, "step": step, "layer": layer, **{k: 0.1 for k in STAT_COLUMNS},
                                       "mean": mean, "std": std, "p1": -2.0, "p99": 3.0, "saturated_fraction": ""})
        write_json(f"{stem}.stats.json", {**ident, "step": 100, "probe_images": 5, "layers": layers,
                                          "layer_order": list(shapes)})
        _write_csv(f"{stem}.training_stats.csv", stats_rows)
        for key, suffix in (("metrics", ".metrics.json"), ("stats", ".stats.json"), ("activations", ".h5"),
                            ("training_stats", ".training_stats.csv")):
            files[key].append(f"{stem}{suffix}")
    write_dataset_h5(folder / "data.h5", {s: (np.zeros((2, 28, 28, 1), np.uint8), np.zeros(2)) for s in
                                          ("train", "test")},
                     {"name": dataset, "classes": CLASSES, "num_classes": 10, "license": "MIT",
                      "description": "fake", "checksums": {"file.gz": "content sha256:abc"}})
    return files


def _render(folder, files, config, settings=ReportSettings(), processes=1, **changes):
    files = {**files, **changes}
    tables = folder / "tables"
    return render_report(ReportInputs(datasets=[folder / "data.h5"], **files), settings, config,
                         ReportOutputs(folder / "report.html", tables / "accuracy.csv", tables / "comparisons.csv",
                                       tables / "per_class.csv", tables / "confusion.csv", tables / "layer_stats.csv",
                                       tables / "training_stats.csv", tables / "learning_curves.csv",
                                       tables / "report.json"), processes)


def _table(folder, name):
    with open(folder / "tables" / name) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    files = _fake_runs(folder)
    config = {"activations": ["selu", "relu"], "recipes": ["snn", "seed"], "datasets": ["Fake<b>"],
              "note": "<script>alert(1)</script>"}
    _render(folder, files, config)
    return folder, config, (folder / "report.html").read_text()


def test_report_is_self_contained_with_every_figure(report):
    _, _, html = report
    # learning curves + per recipe: per-class accuracy, depth profile, per layer: histograms/grids and percentiles;
    # CKA: snn (two seeds each) its layers and its maps, seed (one seed) the map of two networks
    assert html.count('src="data:image/png;base64,') == 1 + 2 * (2 + 2 * len(LAYER_NAMES)) + 3
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for recipe in ("snn", "seed"):
        for layer in LAYER_NAMES:
            assert f"<h4>cnn/{recipe} · {layer}</h4>" in html


def test_report_escapes_html_in_names_and_config(report):
    _, _, html = report
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "Fake<b>" not in html and "Fake&lt;b&gt;" in html


def test_accuracy_has_its_interval_and_no_best_mark_without_support(report):
    folder, config, html = report
    rows = {(r["recipe"], r["activation"]): r for r in _table(folder, "accuracy.csv")}
    assert list(rows) == [("snn", "selu"), ("snn", "relu"), ("seed", "selu"), ("seed", "relu")]  # config order
    snn_relu, seed_relu = rows["snn", "relu"], rows["seed", "relu"]
    assert float(snn_relu["test_accuracy_mean"]) == pytest.approx(0.82)
    assert float(snn_relu["test_accuracy_std"]) == pytest.approx(0.0283, abs=1e-4)  # sample std, ddof 1
    assert snn_relu["interval"] == "t over 2 seeds" and snn_relu["test_accuracy_per_seed"] == "0.8;0.84"
    assert float(snn_relu["ci_low"]) < 0.7 and float(snn_relu["ci_high"]) > 0.94  # t(1) is wide
    assert seed_relu["interval"] == "Wilson, 200 test images" and seed_relu["test_accuracy_std"] == ""
    assert float(seed_relu["ci_low"]) == pytest.approx(0.633, abs=1e-3)
    assert "(best" not in html and 'class="best"' not in html
    assert "0.8200" in html and "seed 1: 0.8400" in html


def test_every_pair_of_activations_is_compared_with_its_interval_and_test(report):
    folder, _, html = report
    comparisons = {(c["recipe"], c["activation_a"], c["activation_b"]): c for c in _table(folder, "comparisons.csv")}
    snn = comparisons["snn", "selu", "relu"]
    assert snn["method"] == "paired t over 2 seeds" and snn["seeds"] == "0;1"
    assert float(snn["difference"]) == pytest.approx(0.05) and snn["distinguishable"] == "False"
    seed = comparisons["seed", "selu", "relu"]
    assert seed["method"] == "exact McNemar, 200 test images"
    assert int(seed["only_a"]) - int(seed["only_b"]) == round(0.05 * TEST_IMAGES)
    assert "Which differences are real: cnn/snn" in html and "within noise" in html


def test_summary_names_the_unit_of_each_verdict_and_where_layers_sit(report):
    folder, _, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    summary = numbers["summary"]["Fake<b>"]
    assert summary[0].startswith("cnn/snn, paired over seeds (2 seeds, 100 steps, 200 test images): selu vs relu: "
                                 "undecided")
    assert summary[1].startswith("cnn/seed: one seed (100 steps, 200 test images) measures these trained networks, "
                                 "not the activations: selu's network scored highest")
    assert summary[2] == ("After training, dense2 (the last hidden layer) is near mean 0 and std 1 (mean within ±0.1 "
                          "and variance within 0.8–1.5, the domain of SELU's fixed-point theorem) for: selu (cnn/snn) "
                          "mean 0.01, std 1.02; selu (cnn/seed) mean 0.01, std 1.02.")
    assert any(s.startswith("SELU (cnn/snn): at initialisation inside the domain at no hidden layer") for s in summary)
    tables = numbers["verdict_tables"]["Fake<b>"]
    assert [t["unit"] for t in tables] == ["the activations (paired over seeds)",
                                           "these trained networks, not the activations"]
    assert tables[0]["order"] == ["selu", "relu"] and tables[0]["pairs"][0]["decision"].startswith("undecided")
    # the first screen: the verdict tables and sentences; the layers' sentences only further down, folded
    first_screen = html[html.index('id="summary"'):html.index("<nav")]
    assert first_screen.count('class="verdict"') == 2 and "measures these trained networks" in first_screen
    assert "near mean 0 and std 1" not in first_screen
    assert html.count("near mean 0 and std 1 (mean within") == 1  # once, in the dataset's folded layer sentences


def test_per_class_accuracy_and_confusion_are_drawn_and_exported(report):
    folder, _, html = report
    per_class = _table(folder, "per_class.csv")
    assert len(per_class) == 4 * len(CLASSES)  # 4 (recipe, activation) x 10 classes
    snn_relu = [r for r in per_class if (r["recipe"], r["activation"]) == ("snn", "relu")]
    assert np.mean([float(r["accuracy_mean"]) for r in snn_relu]) == pytest.approx(0.82)  # classes of equal size
    confusion = _table(folder, "confusion.csv")
    assert len(confusion) == 4 * len(CLASSES) ** 2
    assert sum(float(r["images_mean"]) for r in confusion if r["activation"] == "relu" and r["recipe"] == "seed") == \
        TEST_IMAGES
    assert html.count("accuracy per class") == 2


def test_every_number_is_exported_and_the_config_hash_shown(report):
    folder, config, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    assert numbers["config_hash"] == config_hash(config) and config_hash(config) in html
    assert len(numbers["layers"]) == len(ACCURACY) * len(LAYER_NAMES)
    assert len(numbers["histograms"]) == len(ACCURACY) * len(LAYER_NAMES)
    assert len(numbers["comparisons"]) == 2 and len(numbers["per_class"]) == 4 * len(CLASSES)
    rows = _table(folder, "layer_stats.csv")
    wanted = ("snn", "selu", "0", "conv1")
    row = next(r for r in rows if (r["recipe"], r["activation"], r["seed"], r["layer"]) == wanted)
    stats = json.loads((folder / "snn-selu0.stats.json").read_text())["layers"]["conv1"]
    assert float(row["mean"]) == pytest.approx(stats["mean"])
    assert len(_table(folder, "learning_curves.csv")) == len(ACCURACY) * len(STEPS)
    assert len(_table(folder, "training_stats.csv")) == len(ACCURACY) * len(STEPS) * len(LAYER_NAMES)
    assert "content sha256:abc" in html
    depth = numbers["depth_profiles"]["Fake<b>/cnn/snn"]
    selu_trained = next(r for r in depth if (r["activation"], r["when"]) == ("selu", "trained"))
    assert (selu_trained["dense2_mean"], selu_trained["dense2_std"], selu_trained["seeds"]) == (0.01, 1.02, 2)


def test_histogram_ranges_are_per_layer_from_the_runs_values_unless_fixed(report, tmp_path):
    folder, _, _ = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    ranges = numbers["histogram_ranges"]
    with h5py.File(folder / "snn-relu0.h5") as f:
        conv1 = f["activations/conv1"][:]
    low, high = ranges["Fake<b>/cnn/conv1"]
    assert low < np.quantile(conv1, 0.01) and high > np.quantile(conv1, 0.99)  # 0.5-99.5% of every run inside
    assert low > conv1.min() or high < conv1.max()  # robust: the extremes may fall outside ...
    outside = [float(r["outside_range_fraction"]) for r in _table(folder, "layer_stats.csv")]
    assert 0 < max(outside) <= 0.01  # ... and the share outside is shown, at most 1% of any run
    histogram = numbers["histograms"]["Fake<b>/cnn/snn/relu/0/conv1"]
    assert sum(histogram["counts"]) + histogram["below"] + histogram["above"] == conv1.size
    files = _fake_runs(tmp_path, accuracy={("snn", "relu", 0): 0.8})
    _render(tmp_path, files, {}, ReportSettings(histogram_range=(-1.0, 1.0), histogram_bins=4))
    fixed = json.loads((tmp_path / "tables" / "report.json").read_text())
    assert fixed["histogram_ranges"]["Fake<b>/cnn/dense2"] == [-1.0, 1.0]
    assert fixed["histograms"]["Fake<b>/cnn/snn/relu/0/dense2"]["edges"] == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_layers_keep_the_models_order_whatever_their_names(tmp_path):
    from actviz.report import layer_tables, layer_words, numbers

    shapes = {f"dense{i}": (8,) for i in range(1, 12)} | {"logits": (10,)}  # 12 layers: dense10 after dense9
    files = _fake_runs(tmp_path, accuracy={("snn", "selu", 0): 0.8}, shapes=shapes)
    runs = numbers.load_runs(files["metrics"], files["stats"], files["activations"], files["training_stats"])
    layers = layer_tables.layer_order(runs, "cnn")
    assert layers == list(shapes) != sorted(shapes)
    ranges = layer_tables.histogram_ranges(runs, "Fake<b>", "cnn", layers, "auto")
    histograms = {("Fake<b>", "cnn"): layer_tables.run_histograms(runs, "Fake<b>", "cnn", layers, ranges, 4)}
    rows = layer_tables.layer_rows(runs, {"cnn": layers}, histograms)
    assert [r["layer"] for r in rows] == list(shapes)
    profiles = {"snn": layer_tables.depth_profiles(runs, ("Fake<b>", "cnn", "snn"), ["selu"], layers)}
    assert layer_words.fixed_point_sentences(profiles, layers)[0].startswith("After training, dense11 (the last hidden")


def test_each_run_shows_the_versions_it_was_trained_under_and_the_report_its_own(report):
    folder, _, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    rows = numbers["run_versions"]["rows"]
    assert [row["versions"]["tensorflow"] for row in rows] == ["2.21.0", "2.20.0"]  # in the order of their runs
    assert rows[1]["runs"] == ["Fake<b>/cnn/seed/selu/seed0"] and len(rows[0]["runs"]) == len(ACCURACY) - 1
    assert set(numbers["run_versions"]["packages"]) == set(VERSIONS)
    assert "<td class=\"name\">2.20.0</td>" in html and "Fake&lt;b&gt;/cnn/seed/selu/seed0" in html
    # the report process's own versions, apart: it needs no TensorFlow
    assert {"python", "matplotlib", "Jinja2", "scipy"} <= set(numbers["report_versions"])
    assert "tensorflow" not in numbers["report_versions"]


def test_runs_trained_before_versions_were_recorded_say_so(tmp_path):
    files = _fake_runs(tmp_path, accuracy={("snn", "selu", 0): 0.9})
    for path in files["metrics"]:
        metrics = json.loads(open(path).read())
        del metrics["versions"]
        write_json(path, metrics)
    _render(tmp_path, files, {})
    assert "not recorded (trained before runs recorded their versions)" in (tmp_path / "report.html").read_text()


def test_a_run_missing_its_statistics_is_a_user_error(tmp_path):
    files = _fake_runs(tmp_path, accuracy={k: ACCURACY[k] for k in (("snn", "relu", 0), ("snn", "relu", 1))})
    with pytest.raises(UserError, match="lacks its stats"):
        _render(tmp_path, files, {}, stats=files["stats"][1:])
    assert not (tmp_path / "report.html").exists()


def test_a_diverged_run_is_marked_and_left_out_of_every_mean(tmp_path):
    # snn/relu: 3 seeds, seed 1 diverges; seed/selu: its only run diverges
    files = _fake_runs(tmp_path, accuracy={("snn", "relu", 0): 0.80, ("snn", "relu", 1): 0.84, ("snn", "relu", 2): 0.82,
                                           ("seed", "selu", 0): 0.75, ("seed", "relu", 0): 0.70})
    diverged = "seed-selu0"  # the seed recipe's only selu run
    metrics = json.loads((tmp_path / f"{diverged}.metrics.json").read_text())
    write_json(tmp_path / f"{diverged}.metrics.json", {**metrics, "test_accuracy": None, "test_loss": None,
                                                       "diverged_at_step": 37, "final_evaluation": None})
    relu_seed1 = json.loads((tmp_path / "snn-relu1.metrics.json").read_text())
    write_json(tmp_path / "snn-relu1.metrics.json", {**relu_seed1, "test_accuracy": None, "diverged_at_step": 5,
                                                      "final_evaluation": None})
    context = _render(tmp_path, files, {"activations": ["selu", "relu"], "recipes": ["snn", "seed"]})
    html = (tmp_path / "report.html").read_text()
    assert html.count("diverged at step 37") == 1 and html.count("diverged at step 5") == 1  # the runs table
    rows = {(r["recipe"], r["activation"]): r for r in context["sections"][0]["accuracy"]}
    assert rows["seed", "selu"]["test_accuracy_mean"] is None
    assert rows["seed", "selu"]["diverged"] == "seed 0 at step 37"
    assert rows["snn", "relu"]["test_accuracy_mean"] == pytest.approx(0.81)  # seed 1 left out of the mean
    assert rows["snn", "relu"]["seeds"] == [0, 2] and rows["snn", "relu"]["interval"] == "t over 2 seeds"
    assert "diverged: seed 1 at step 5" in html and "2 of 3" in html
    left = "selu (cnn/seed, seed 0 at step 37), relu (cnn/snn, seed 1 at step 5)"
    assert f"Diverged (loss NaN or infinite), and left out of every mean: {left}." in html
    assert {r["diverged"] for r in _table(tmp_path, "accuracy.csv")} == {"", "seed 0 at step 37", "seed 1 at step 5"}
    numbers = json.loads((tmp_path / "tables" / "report.json").read_text())
    assert not any("/cnn/snn/relu/1/" in key or "/cnn/seed/selu/" in key for key in numbers["histograms"])
    snn_relu = [r for r in numbers["per_class"] if (r["recipe"], r["activation"]) == ("snn", "relu")]
    assert len(snn_relu) == len(CLASSES) and all(r["seeds"] == [0, 2] for r in snn_relu)
    assert not any(r["activation"] == "selu" for r in numbers["per_class"])  # its only run diverged
    conv1 = context["sections"][0]["parts"][0]["layers"][0]["stats"]
    assert [t["seeds"] for t in conv1 if t["activation"] == "relu"] == [2]
    assert numbers["depth_profiles"]["Fake<b>/cnn/snn"][0]["seeds"] == 2
    assert f"Left out of every mean: {left}" in html


def test_the_report_drawn_by_several_processes_is_the_same_report(report, tmp_path):
    folder, config, html = report
    files = _fake_runs(tmp_path)
    _render(tmp_path, files, config, processes=3)
    generated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    # the same figures, numbers and tables; only the paths of the inputs and the time differ
    assert generated.sub("", (tmp_path / "report.html").read_text().replace(str(tmp_path), "")) == \
        generated.sub("", html.replace(str(folder), ""))
    for table in sorted((folder / "tables").iterdir()):
        assert (tmp_path / "tables" / table.name).read_text().replace(str(tmp_path), "") == \
            table.read_text().replace(str(folder), ""), table.name


def test_the_summary_comes_first_and_every_contents_link_has_its_target(report):
    _, _, html = report
    links = re.findall(r'href="#([^"]+)"', html)
    ids = re.findall(r'id="([^"]+)"', html)
    assert {"summary", "dataset-1", "setup-1-1", "setup-1-2", "runs", "reproducibility"} <= set(ids)
    assert links and set(links) <= set(ids) and len(ids) == len(set(ids))
    assert html.index('id="summary"') < html.index("<nav") < html.index('id="dataset-1"')
