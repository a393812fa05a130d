"""The HTML report from fabricated runs (no TensorFlow): tables, figures, escaping, exports."""

import csv
import json
import re

import h5py
import numpy as np
import pytest

from actviz.atomic import write_json
from actviz.data import write_dataset_h5
from actviz.errors import UserError
from actviz.model import LAYER_NAMES
from actviz.report import config_hash, render_report
from actviz.stats import layer_statistics

SHAPES = {"conv1": (14, 14, 32), "conv2": (7, 7, 64), "conv3": (4, 4, 128), "dense1": (160,),
          "dense2": (40,), "logits": (10,)}
ACCURACY = {("relu", 0): 0.80, ("relu", 1): 0.84, ("selu", 0): 0.86, ("selu", 1): 0.90}


def _fake_runs(folder, dataset="Fake<b>"):
    rng = np.random.default_rng(0)
    files = {"metrics": [], "stats": [], "activations": []}
    for (activation, seed), accuracy in ACCURACY.items():
        stem = folder / f"{activation}{seed}"
        write_json(f"{stem}.metrics.json", {
            "dataset": dataset, "activation": activation, "seed": seed, "final_step": 100,
            "test_accuracy": accuracy, "train_loss": 0.5, "train_seconds": 1.0, "images_per_second": 10.0})
        layers = {}
        with h5py.File(f"{stem}.h5", "w") as f:
            f.attrs.update({"dataset": dataset, "activation": activation, "seed": seed})
            for layer, shape in SHAPES.items():
                values = rng.normal(size=(5, *shape)).astype(np.float32)
                f.create_dataset(f"activations/{layer}", data=values)
                layers[layer] = {"shape": list(shape), **layer_statistics(values, (-4, 8), 12)}
        write_json(f"{stem}.stats.json", {"dataset": dataset, "activation": activation, "seed": seed,
                                          "step": 100, "probe_images": 5, "layers": layers})
        for key, suffix in (("metrics", ".metrics.json"), ("stats", ".stats.json"), ("activations", ".h5")):
            files[key].append(f"{stem}{suffix}")
    write_dataset_h5(folder / "data.h5", {s: (np.zeros((2, 28, 28, 1), np.uint8), np.zeros(2)) for s in
                                          ("train", "test")},
                     {"name": dataset, "classes": list("abcdefghij"), "num_classes": 10, "license": "MIT",
                      "description": "fake", "checksums": {"file.gz": "content sha256:abc"}})
    return files


@pytest.fixture
def report(tmp_path):
    files = _fake_runs(tmp_path)
    config = {"activations": ["selu", "relu"], "datasets": ["Fake<b>"], "note": "<script>alert(1)</script>"}
    render_report(files["metrics"], files["stats"], files["activations"], [tmp_path / "data.h5"], config,
                  tmp_path / "report.html", tmp_path / "tables")
    return tmp_path, config, (tmp_path / "report.html").read_text()


def test_report_is_self_contained_with_one_figure_per_layer(report):
    _, _, html = report
    assert html.count('src="data:image/png;base64,') == len(LAYER_NAMES)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for layer in LAYER_NAMES:
        assert f"<h4>{layer}</h4>" in html


def test_report_escapes_html_in_names_and_config(report):
    _, _, html = report
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "Fake<b>" not in html and "Fake&lt;b&gt;" in html


def test_accuracy_is_mean_and_std_over_seeds_with_the_best_marked(report):
    folder, config, html = report
    with open(folder / "tables" / "accuracy.csv") as f:
        rows = {r["activation"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["selu", "relu"]  # the config's order
    assert float(rows["selu"]["test_accuracy_mean"]) == pytest.approx(0.88)
    assert float(rows["selu"]["test_accuracy_std"]) == pytest.approx(0.02)
    assert rows["relu"]["test_accuracy_per_seed"] == "0.8;0.84"
    assert re.search(r'class="best">\s*<td class="name">selu \(best\)', html)
    assert "0.8800 ± 0.0200" in html


def test_every_number_is_exported_and_the_config_hash_shown(report):
    folder, config, html = report
    numbers = json.loads((folder / "tables" / "report.json").read_text())
    assert numbers["config_hash"] == config_hash(config) and config_hash(config) in html
    assert len(numbers["layers"]) == len(ACCURACY) * len(LAYER_NAMES)
    assert len(numbers["histograms"]) == len(ACCURACY) * len(LAYER_NAMES)
    with open(folder / "tables" / "layer_stats.csv") as f:
        rows = list(csv.DictReader(f))
    selu0_conv1 = next(r for r in rows if r["activation"] == "selu" and r["seed"] == "0" and r["layer"] == "conv1")
    stats = json.loads((folder / "selu0.stats.json").read_text())["layers"]["conv1"]
    assert float(selu0_conv1["mean"]) == pytest.approx(stats["mean"])
    assert "content sha256:abc" in html and "tensorflow" in numbers["versions"]


def test_a_run_missing_its_statistics_is_a_user_error(tmp_path):
    files = _fake_runs(tmp_path)
    with pytest.raises(UserError, match="lacks its stats"):
        render_report(files["metrics"], files["stats"][1:], files["activations"], [tmp_path / "data.h5"], {},
                      tmp_path / "r.html", tmp_path / "t")
    assert not (tmp_path / "r.html").exists()
