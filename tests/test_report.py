"""The HTML report from fabricated runs (no TensorFlow): tables, figures, escaping, exports."""

import csv
import json
import re

import h5py
import numpy as np
import pytest

from actviz.atomic import write_json
from actviz.errors import UserError
from actviz.formats import write_dataset_h5
from actviz.model import LAYER_NAMES
from actviz.report.numbers import config_hash
from actviz.report.render import ReportInputs, ReportOutputs, render_report
from actviz.stats import STAT_COLUMNS, layer_statistics

SHAPES = {"conv1": (14, 14, 32), "conv2": (7, 7, 64), "conv3": (4, 4, 128), "dense1": (160,),
          "dense2": (40,), "logits": (10,)}
ACCURACY = {("snn", "relu", 0): 0.80, ("snn", "relu", 1): 0.84, ("snn", "selu", 0): 0.86, ("snn", "selu", 1): 0.90,
            ("seed", "relu", 0): 0.70, ("seed", "selu", 0): 0.75}
STEPS = (0, 50, 100)
VERSIONS = {"python": "3.11.7", "tensorflow": "2.21.0", "numpy": "2.4.6"}
OTHER_VERSIONS = {("seed", "selu", 0): {**VERSIONS, "tensorflow": "2.20.0"}}  # trained under another TensorFlow


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _fake_runs(folder, dataset="Fake<b>", accuracy=ACCURACY):
    """Every file of the runs in ``accuracy`` (default: all), with SELU's dense2 at mean 0.01 / std 1.02
    after training."""
    rng = np.random.default_rng(0)
    files = {k: [] for k in ("metrics", "stats", "activations", "training_stats", "training_histograms")}
    for (recipe, activation, seed), accuracy in accuracy.items():
        stem = folder / f"{recipe}-{activation}{seed}"
        ident = {"dataset": dataset, "recipe": recipe, "activation": activation, "seed": seed}
        write_json(f"{stem}.metrics.json", {
            **ident, "final_step": 100, "test_accuracy": accuracy, "train_loss": 0.5, "train_seconds": 1.0,
            "images_per_second": 10.0, "versions": OTHER_VERSIONS.get((recipe, activation, seed), VERSIONS),
            "evaluations": [{"step": s, "test_loss": 1.0 - s / 200, "test_accuracy": accuracy * s / 100}
                            for s in STEPS],
            "training": [{"step": s, "train_loss": 1.0 / s, "train_accuracy": 0.5} for s in (50, 100)]})
        layers, stats_rows, histogram_rows = {}, [], []
        with h5py.File(f"{stem}.h5", "w") as f:
            f.attrs.update(ident)
            for layer, shape in SHAPES.items():
                values = rng.normal(size=(5, *shape)).astype(np.float32)
                f.create_dataset(f"activations/{layer}", data=values)
                layers[layer] = {"shape": list(shape), **layer_statistics(values, (-4, 8), 12)}
                for step in STEPS:
                    mean, std = (0.01, 1.02) if activation == "selu" and step == 100 else (0.5, 2.0)
                    stats_rows.append({**ident, "step": step, "layer": layer, **{k: 0.1 for k in STAT_COLUMNS},
                                       "mean": mean, "std": std, "saturated_fraction": ""})
                    histogram_rows += [{**ident, "step": step, "layer": layer, "bin_low": -4 + i,
                                        "bin_high": -3 + i, "count": int(rng.integers(0, 50))} for i in range(12)]
        write_json(f"{stem}.stats.json", {**ident, "step": 100, "probe_images": 5, "layers": layers})
        _write_csv(f"{stem}.training_stats.csv", stats_rows)
        _write_csv(f"{stem}.training_histograms.csv", histogram_rows)
        for key, suffix in (("metrics", ".metrics.json"), ("stats", ".stats.json"), ("activations", ".h5"),
                            ("training_stats", ".training_stats.csv"),
                            ("training_histograms", ".training_histograms.csv")):
            files[key].append(f"{stem}{suffix}")
    write_dataset_h5(folder / "data.h5", {s: (np.zeros((2, 28, 28, 1), np.uint8), np.zeros(2)) for s in
                                          ("train", "test")},
                     {"name": dataset, "classes": list("abcdefghij"), "num_classes": 10, "license": "MIT",
                      "description": "fake", "checksums": {"file.gz": "content sha256:abc"}})
    return files


def _render(folder, files, config, **changes):
    files = {**files, **changes}
    tables = folder / "tables"
    return render_report(ReportInputs(datasets=[folder / "data.h5"], **files), config,
                         ReportOutputs(folder / "report.html", tables / "accuracy.csv", tables / "layer_stats.csv",
                                       tables / "training_stats.csv", tables / "learning_curves.csv",
                                       tables / "report.json"))


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
    # learning curves + per recipe: depth profile + per layer: histograms/grids and heatmap
    assert html.count('src="data:image/png;base64,') == 1 + 2 * (1 + 2 * len(LAYER_NAMES))
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for recipe in ("snn", "seed"):
        for layer in LAYER_NAMES:
            assert f"<h4>{recipe} · {layer}</h4>" in html


def test_report_escapes_html_in_names_and_config(report):
    _, _, html = report
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "Fake<b>" not in html and "Fake&lt;b&gt;" in html


def test_accuracy_is_mean_and_std_over_seeds_with_the_best_marked(report):
    folder, config, html = report
    with open(folder / "tables" / "accuracy.csv") as f:
        rows = {(r["recipe"], r["activation"]): r for r in csv.DictReader(f)}
    assert list(rows) == [("snn", "selu"), ("snn", "relu"), ("seed", "selu"), ("seed", "relu")]  # config order
    assert float(rows["snn", "selu"]["test_accuracy_mean"]) == pytest.approx(0.88)
    assert float(rows["snn", "selu"]["test_accuracy_std"]) == pytest.approx(0.02)
    assert rows["snn", "relu"]["test_accuracy_per_seed"] == "0.8;0.84"
    assert re.search(r'class="best">\s*<td class="name">snn</td>\s*<td class="name">selu \(best\)', html)
    assert "0.8800 ± 0.0200" in html and "seed 1: 0.9000" in html


def test_summary_names_the_best_run_and_the_activation_closest_to_0_and_1(report):
    folder, _, html = report
    summary = json.loads((folder / "tables" / "report.json").read_text())["summary"]["Fake<b>"]
    assert summary[0].startswith("Best test accuracy on Fake<b>: selu with the snn recipe, 0.8800 ± 0.0200 over 2")
    assert "At dense2, the last hidden layer, selu (snn) stays closest to mean 0 and std 1" in summary[1]
    assert "(mean 0.01, std 1.02)" in summary[1]
    assert any(s.startswith("SELU (snn) at dense2: mean 0.50, std 2.00 at initialisation; 0.01, 1.02") for s in summary)
    assert "selu (snn) stays closest" in html


def test_every_number_is_exported_and_the_config_hash_shown(report):
    folder, config, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    assert numbers["config_hash"] == config_hash(config) and config_hash(config) in html
    assert len(numbers["layers"]) == len(ACCURACY) * len(LAYER_NAMES)
    assert len(numbers["histograms"]) == len(ACCURACY) * len(LAYER_NAMES)
    with open(folder / "tables" / "layer_stats.csv") as f:
        rows = list(csv.DictReader(f))
    wanted = ("snn", "selu", "0", "conv1")
    row = next(r for r in rows if (r["recipe"], r["activation"], r["seed"], r["layer"]) == wanted)
    stats = json.loads((folder / "snn-selu0.stats.json").read_text())["layers"]["conv1"]
    assert float(row["mean"]) == pytest.approx(stats["mean"])
    with open(folder / "tables" / "learning_curves.csv") as f:
        curves = list(csv.DictReader(f))
    assert len(curves) == len(ACCURACY) * len(STEPS)
    with open(folder / "tables" / "training_stats.csv") as f:
        assert len(list(csv.DictReader(f))) == len(ACCURACY) * len(STEPS) * len(LAYER_NAMES)
    assert "content sha256:abc" in html
    depth = numbers["depth_profiles"]["Fake<b>/snn"]
    selu_trained = next(r for r in depth if (r["activation"], r["when"]) == ("selu", "trained"))
    assert (selu_trained["mean_4"], selu_trained["std_4"]) == (0.01, 1.02)


def test_each_run_shows_the_versions_it_was_trained_under_and_the_report_its_own(report):
    folder, _, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    rows = numbers["run_versions"]["rows"]
    assert [row["versions"]["tensorflow"] for row in rows] == ["2.21.0", "2.20.0"]  # in the order of their runs
    assert rows[1]["runs"] == ["Fake<b>/seed/selu/seed0"] and len(rows[0]["runs"]) == len(ACCURACY) - 1
    assert set(numbers["run_versions"]["packages"]) == set(VERSIONS)
    assert "<td class=\"name\">2.20.0</td>" in html and "Fake&lt;b&gt;/seed/selu/seed0" in html
    # the report process's own versions, apart: it needs no TensorFlow
    assert {"python", "matplotlib", "Jinja2"} <= set(numbers["report_versions"])
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
    files = _fake_runs(tmp_path)
    with pytest.raises(UserError, match="lacks its stats"):
        _render(tmp_path, files, {}, stats=files["stats"][1:])
    assert not (tmp_path / "report.html").exists()


def test_a_diverged_run_is_marked_and_left_out_of_the_mean(tmp_path):
    files = _fake_runs(tmp_path, accuracy={key: ACCURACY[key] for key in (("snn", "relu", 0), ("snn", "relu", 1),
                                                                          ("seed", "selu", 0), ("seed", "relu", 0))})
    diverged = "seed-selu0"  # the seed recipe's only selu run
    metrics = json.loads((tmp_path / f"{diverged}.metrics.json").read_text())
    write_json(tmp_path / f"{diverged}.metrics.json", {**metrics, "test_accuracy": None, "test_loss": None,
                                                       "diverged_at_step": 37})
    relu_seed1 = json.loads((tmp_path / "snn-relu1.metrics.json").read_text())
    write_json(tmp_path / "snn-relu1.metrics.json", {**relu_seed1, "test_accuracy": None, "diverged_at_step": 5})
    context = _render(tmp_path, files, {"activations": ["selu", "relu"], "recipes": ["snn", "seed"]})
    html = (tmp_path / "report.html").read_text()
    assert html.count("diverged at step 37") == 1 and html.count("diverged at step 5") == 1  # the runs table
    rows = {(r["recipe"], r["activation"]): r for r in context["sections"][0]["accuracy"]}
    assert rows["seed", "selu"]["test_accuracy_mean"] is None
    assert rows["seed", "selu"]["diverged"] == "seed 0 at step 37"
    assert rows["snn", "relu"]["test_accuracy_mean"] == pytest.approx(0.80)  # seed 1 left out of the mean
    assert "diverged: seed 1 at step 5" in html
    assert "Diverged (loss NaN or infinite): relu (snn, seed 1 at step 5), selu (seed, seed 0 at step 37)." in html
    with open(tmp_path / "tables" / "accuracy.csv") as f:
        assert {r["diverged"] for r in csv.DictReader(f)} == {"", "seed 0 at step 37", "seed 1 at step 5"}
