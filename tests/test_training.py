"""Training (checkpoints, resume, TensorBoard summaries, metrics) and activation extraction.

One SELU run of the small settings is trained once for the module (``selu_run``) and read by every
test that only looks at what a run leaves; tests that train again do it on a copy of its folder.
"""

import csv
import json
import shutil
from dataclasses import replace

import h5py
import numpy as np
import pytest
from helpers import assert_same_run, expected_tags, tensorboard_tags

from actviz.errors import UserError
from actviz.evaluation import read_predictions, unpack_bits
from actviz.extraction import extract
from actviz.formats import read_split
from actviz.model import LAYER_NAMES
from actviz.runs import run_ident, run_name
from actviz.settings import ExtractSettings, TrainSettings
from actviz.training import learning_rate_schedule, train

SMALL = TrainSettings(steps=12, batch_size=16, learning_rate=3e-3, log_every=4, eval_every=6, stats_every=6,
                      histogram_every=6, image_every=12, checkpoint_every=6, probe_size=8, histogram_range=(-4.0, 8.0),
                      histogram_bins=30)
EXTRACT = ExtractSettings(probe_images=40)
# How far a wide random MLP's measured signal may lie from mean-field theory's path: calibrated on the test's own
# nets (mlp8, 1,024 units, 16 probe images of the tiny fixture; relu, selu, tanh at initialisation), where the
# largest deviations over the hidden layers were 0.049 in corr (relu, drifting above the path with depth), 9% in q
# (selu) and 4% in the Jacobian: about 1.6 times those, near the 1/sqrt(1024) = 0.03 scale of finite-width noise.
CORR_TOLERANCE, LENGTH_TOLERANCE, JACOBIAN_TOLERANCE = 0.08, 0.15, 0.1


def _train(h5, folder, settings=SMALL, activation="selu"):
    """Train into ``folder`` (ckpt/, logs/, metrics.json, training_stats.csv, training_histograms.csv,
    predictions.h5)."""
    return train(h5, activation, settings, folder / "ckpt", folder / "logs", folder / "metrics.json",
                 folder / "training_stats.csv", folder / "training_histograms.csv", threads=1, progress=False,
                 log=lambda *_: None, predictions_path=folder / "predictions.h5")


def _extract(h5, folder, out, settings=EXTRACT):
    return extract(h5, folder / "ckpt", out / "a.h5", out / "a.json", out / "a.csv", settings, batch_size=16,
                   threads=1, progress=False)


@pytest.fixture(scope="module")
def selu_run(tiny_h5, tmp_path_factory):
    """(metrics, folder) of the small SELU run, trained once; read it, or copy the folder to change it."""
    folder = tmp_path_factory.mktemp("selu")
    return _train(tiny_h5, folder), folder


@pytest.fixture(scope="module")
def selu_extracted(tiny_h5, selu_run, tmp_path_factory):
    """(result, folder) of extracting ``selu_run``'s first 40 test images in batches of 16."""
    out = tmp_path_factory.mktemp("selu_extracted")
    return _extract(tiny_h5, selu_run[1], out), out


def _copy(run, tmp_path):
    return shutil.copytree(run[1], tmp_path / "run")


def test_training_writes_metrics_checkpoint_and_every_summary(selu_run):
    metrics, run = selu_run
    assert json.loads((run / "metrics.json").read_text()) == metrics
    assert metrics["final_step"] == 12 and metrics["resumed_from_step"] == 0
    assert metrics["test_size"] == 64  # the whole test split
    assert [h["step"] for h in metrics["evaluations"]] == [0, 6, 12]
    assert [h["step"] for h in metrics["training"]] == [4, 8, 12]
    assert metrics["run"] == "tiny/cnn/snn/selu/seed0"
    assert (metrics["architecture"], metrics["recipe"]) == ("cnn", "snn")
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["train_loss"] > 0
    assert metrics["checkpoint"].endswith("ckpt-12")
    assert metrics["settings"] == SMALL.as_dict()
    tags, accumulator = tensorboard_tags(run / "logs")
    for plugin, wanted in expected_tags(LAYER_NAMES).items():
        assert wanted <= tags[plugin], plugin
    # the images are taken at initialisation and at the last step
    assert [e.step for e in accumulator.Tensors("activation_grid/conv1")] == [0, 12]
    assert "hparams" in tags  # the run's hyper-parameters, for the HParams dashboard


def test_a_run_records_the_package_versions_it_trained_under(selu_run):
    import keras
    import tensorflow as tf

    versions = selu_run[0]["versions"]
    assert versions["tensorflow"] == tf.__version__ and versions["keras"] == keras.__version__
    assert {"python", "numpy", "tensorflow-plot", "h5py"} <= set(versions)


def test_run_times_every_phase_and_counts_images_per_second_over_the_loop(selu_run):
    metrics, _ = selu_run
    seconds = metrics["seconds"]
    assert {"setup", "initial_state", "train_steps", "scalars", "evaluation", "probe", "summaries",
            "checkpoints"} <= set(seconds)
    assert all(value >= 0 for value in seconds.values())
    loop = ("train_steps", "scalars", "evaluation", "probe", "summaries", "checkpoints")
    # The loop's phases (step-0 evaluation and summaries apart) fit in its wall time.
    assert sum(seconds[p] for p in loop) <= metrics["train_seconds"] + 0.01
    assert metrics["images_per_second"] == pytest.approx(12 * 16 / metrics["train_seconds"])


def test_tensorboard_histograms_hold_every_probe_value_in_the_reports_bins(selu_run):
    from tensorboard.util import tensor_util

    _, run = selu_run
    _, accumulator = tensorboard_tags(run / "logs")
    with open(run / "training_histograms.csv") as f:
        csv_counts = [int(b["count"]) for b in csv.DictReader(f) if b["step"] == "6" and b["layer"] == "conv1"]
    event = next(e for e in accumulator.Tensors("activations/conv1") if e.step == 6)
    buckets = tensor_util.make_ndarray(event.tensor_proto)  # [k, 3]: left edge, right edge, count
    inside = buckets[(buckets[:, 0] >= -4) & (buckets[:, 1] <= 8)]
    assert inside[:, 2].astype(int).tolist() == csv_counts
    assert len(inside) == 30 and inside[0, 0] == -4 and inside[-1, 1] == 8
    assert buckets[:, 2].sum() == 8 * 14 * 14 * 32  # the values outside the range in the edge buckets
    assert (buckets[:, 0] <= buckets[:, 1]).all()


def test_layer_statistics_over_training_are_written_as_tidy_csv(selu_run):
    _, run = selu_run
    with open(run / "training_stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["step"]), r["layer"]) for r in rows] == [(s, layer) for s in (0, 6, 12) for layer in LAYER_NAMES]
    for row in rows:
        assert float(row["p1"]) <= float(row["p50"]) <= float(row["p99"])
        assert 0 <= float(row["dead_fraction"]) <= float(row["zero_fraction"]) + 1e-9 <= 1
        if row["layer"] != "logits":  # SELU saturates below -0.9 * lambda * alpha
            assert row["saturated_fraction"] != "" and float(row["negative_fraction"]) > 0
    with open(run / "training_histograms.csv") as f:
        bins = list(csv.DictReader(f))
    assert len(bins) == 3 * len(LAYER_NAMES) * 30
    conv1_at_0 = [int(b["count"]) for b in bins if b["step"] == "0" and b["layer"] == "conv1"]
    assert 0 < sum(conv1_at_0) <= 8 * 14 * 14 * 32  # probe images x units, minus those out of range


@pytest.mark.slow
@pytest.mark.parametrize("recipe, activation", [
    ("snn", "relu"), ("snn", "selu"), ("snn", "tanh"),  # He, LeCun with AlphaDropout, Glorot
    ("seed", "relu"), ("seed", "selu"),  # batch norm after non-SELU conv layers, none after SELU
])
def test_every_recipe_trains_with_every_kind_of_activation(tiny_h5, tmp_path, recipe, activation):
    metrics = _train(tiny_h5, tmp_path, replace(SMALL, steps=6, recipe=recipe, histogram_range="auto"), activation)
    assert metrics["final_step"] == 6 and np.isfinite(metrics["test_loss"])
    assert metrics["run"] == f"tiny/cnn/{recipe}/{activation}/seed0"
    # histogram_range auto: each step's histogram spans its own values (and 0), so none fall outside
    with open(tmp_path / "training_histograms.csv") as f:
        bins = list(csv.DictReader(f))
    for step, layer in {(b["step"], b["layer"]) for b in bins}:
        mine = [b for b in bins if (b["step"], b["layer"]) == (step, layer)]
        assert len(mine) == 30 and float(mine[0]["bin_low"]) <= 0 <= float(mine[-1]["bin_high"])
        units = {"conv1": 14 * 14 * 32, "conv2": 7 * 7 * 64, "conv3": 4 * 4 * 128, "dense1": 64, "dense2": 16,
                 "logits": 4}[layer]
        assert sum(int(b["count"]) for b in mine) == 8 * units
    from actviz.stats import SIGNAL_COLUMNS

    with open(tmp_path / "training_stats.csv") as f:
        at_0 = [r for r in csv.DictReader(f) if r["step"] == "0"]
    assert len(at_0) == 6 and all(np.isfinite(float(r[k])) for r in at_0 for k in SIGNAL_COLUMNS)


def test_each_optimizer_is_the_keras_one_it_names_with_its_momentum_and_clipping():
    from actviz.optimizers import OPTIMIZERS, build_optimizer

    built = {name: build_optimizer(name, 0.01, 5.0) for name in OPTIMIZERS}
    assert type(built["adam"]).__name__ == "Adam"
    assert type(built["sgd"]).__name__ == type(built["momentum"]).__name__ == "SGD"
    assert built["sgd"].momentum == 0.0 and built["momentum"].momentum == 0.9
    assert all(o.global_clipnorm == 5.0 and float(o.learning_rate) == pytest.approx(0.01) for o in built.values())


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_a_run_trains_with_the_optimizer_it_names(tiny_h5, tmp_path, optimizer):
    metrics = _train(tiny_h5, tmp_path, replace(SMALL, steps=6, optimizer=optimizer, learning_rate=0.05))
    assert metrics["settings"]["optimizer"] == optimizer and np.isfinite(metrics["train_loss"])
    run = json.loads((tmp_path / "ckpt" / "run.json").read_text())
    assert run["optimizer"] == optimizer  # part of what a checkpoint is resumed under


def test_learning_rate_halves_every_10k_steps_only_with_decay():
    decayed = learning_rate_schedule(TrainSettings(learning_rate=1e-3, lr_weight_decay=True))
    rates = [float(decayed(step)) for step in (0, 9_999, 10_000, 19_999, 20_000)]
    assert rates == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
    assert learning_rate_schedule(TrainSettings(learning_rate=1e-3)) == 1e-3


def test_logged_learning_rate_is_the_configured_one(selu_run):
    import tensorflow as tf

    _, accumulator = tensorboard_tags(selu_run[1] / "logs")
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors("learning_rate")]
    assert rates == pytest.approx([3e-3] * 3)


def test_an_intermediate_run_evaluates_no_test_split_and_draws_no_last_step_pictures(tiny_h5, tmp_path):
    from actviz.training import train

    settings = replace(SMALL, steps=8, image_every=6)  # pictures due at step 6, and at 8 only for a final run
    metrics = train(tiny_h5, "selu", settings, tmp_path / "ckpt", tmp_path / "logs", tmp_path / "metrics.json",
                    tmp_path / "stats.csv", tmp_path / "histograms.csv", threads=1, progress=False,
                    log=lambda *_: None, final=False)
    assert metrics["test_accuracy"] is None and metrics["final_evaluation"] is None
    assert metrics["validation_accuracy"] is not None and metrics["evaluations"][-1]["step"] == 8
    assert "evaluation" in metrics["seconds"] and metrics["final_step"] == 8
    pictures = [e.step for e in _events(tmp_path / "logs") if any(v.tag.startswith("activation_grid") for v in
                                                                   e.summary.value)]
    assert sorted(set(pictures)) == [0, 6]


def _events(folder):
    import tensorflow as tf

    return [tf.compat.v1.Event.FromString(record.numpy()) for path in sorted(folder.glob("events.out.tfevents.*"))
            for record in tf.data.TFRecordDataset(str(path))]


def test_a_run_already_at_its_steps_reports_without_training(tiny_h5, selu_run, tmp_path):
    again = _train(tiny_h5, _copy(selu_run, tmp_path))
    first = selu_run[0]
    assert again["resumed_from_step"] == 12 and again["images_per_second"] is None
    assert again["test_accuracy"] == first["test_accuracy"] and again["train_loss"] == first["train_loss"]
    assert again["final_evaluation"] == first["final_evaluation"]  # evaluated again, image by image
    assert [e["step"] for e in again["evaluations"]] == [0, 6, 12]  # but recorded once


def test_the_final_evaluation_keeps_each_images_result_and_the_confusion_matrix(tiny_h5, selu_run):
    from actviz.evaluation import unpack_bits

    metrics = selu_run[0]
    final = metrics["final_evaluation"]
    correct = unpack_bits(final["correct"], final["images"])
    confusion = np.array(final["confusion"])
    _, labels = read_split(tiny_h5, "test")
    assert final["images"] == len(correct) == 64 and final["step"] == 12
    assert correct.mean() == metrics["test_accuracy"] == final["accuracy"]
    assert confusion.shape == (4, 4) and np.trace(confusion) == correct.sum()
    assert confusion.sum(axis=1).tolist() == np.bincount(labels, minlength=4).tolist()  # rows: the true classes


def test_a_run_records_every_test_images_prediction_and_probabilities_beside_its_metrics(selu_run):
    metrics, run = selu_run
    predictions = read_predictions(run / "predictions.h5")
    probabilities = predictions["probabilities"]
    assert probabilities.dtype == np.float16 and probabilities.shape == (64, 4)
    assert np.allclose(probabilities.astype(np.float64).sum(axis=1), 1, atol=4e-3)  # float16's rounding
    correct = unpack_bits(metrics["final_evaluation"]["correct"], 64)
    assert np.array_equal(predictions["predicted"] == predictions["labels"], correct)
    assert (predictions["predicted"] == predictions["labels"]).mean() == metrics["test_accuracy"]
    # the class predicted is the most probable one (up to float16's ties)
    top = probabilities[np.arange(64), predictions["predicted"]]
    assert np.all(top >= probabilities.max(axis=1))
    assert (predictions["run"], predictions["split"], predictions["step"]) == ("tiny/cnn/snn/selu/seed0", "test", 12)
    assert not predictions["diverged"]


def test_reading_a_file_that_is_no_predictions_file_is_a_user_error(tmp_path):
    (tmp_path / "p.h5").write_text("not HDF5")
    with pytest.raises(UserError, match="cannot read predictions"):
        read_predictions(tmp_path / "p.h5")


def test_evaluate_script_reproduces_the_runs_final_test_accuracy(tiny_h5, selu_run, tmp_path):
    import subprocess
    import sys

    from helpers import REPO

    metrics, run = selu_run
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "evaluate.py"), "--checkpoint-dir",
                             str(run / "ckpt"), "--dataset", str(tiny_h5), "--out", str(tmp_path / "e.json"),
                             "--threads", "1", "--predictions", str(tmp_path / "p.h5")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads((tmp_path / "e.json").read_text())
    assert evaluation["accuracy"] == metrics["test_accuracy"] and evaluation["loss"] == metrics["test_loss"]
    assert evaluation["correct"] == metrics["final_evaluation"]["correct"]  # image by image
    assert evaluation["confusion"] == metrics["final_evaluation"]["confusion"] and evaluation["step"] == 12
    assert f"accuracy {metrics['test_accuracy']:.4f}" in result.stdout
    again, recorded = read_predictions(tmp_path / "p.h5"), read_predictions(run / "predictions.h5")
    for name in ("labels", "predicted", "probabilities", "run", "step", "split"):  # the run's own, bit for bit
        assert np.array_equal(again[name], recorded[name]), name



def test_the_run_is_evaluated_on_its_validation_split_and_the_test_split_once(tiny_h5, selu_run):
    from actviz.evaluation import evaluate_checkpoint

    metrics, run = selu_run
    record = metrics["validation"]
    assert metrics["validation_size"] == record["images"] == len(record["indices"]) == 26  # 10% of 256, by class
    assert set(metrics["evaluations"][-1]) == {"step", "validation_loss", "validation_accuracy", "validation_correct"}
    assert metrics["evaluations"][-1]["validation_accuracy"] == metrics["validation_accuracy"]
    validation = evaluate_checkpoint(run / "ckpt", tiny_h5, "validation")  # the same images found again
    assert validation["images"] == 26 and validation["accuracy"] == metrics["validation_accuracy"]
    assert validation["loss"] == pytest.approx(metrics["validation_loss"], rel=1e-6)
    assert metrics["final_evaluation"]["split"] == "test" and metrics["final_evaluation"]["images"] == 64


def test_evaluation_of_the_train_split_reads_it_batch_by_batch(tiny_h5, selu_run):
    from actviz.evaluation import evaluate_checkpoint

    train = evaluate_checkpoint(selu_run[1] / "ckpt", tiny_h5, "train")
    assert train["split"] == "train" and train["images"] == 256 and train["step"] == 12
    assert np.array(train["confusion"]).sum() == 256 and len(train["per_class_accuracy"]) == 4
    assert train["run"] == {"dataset": "tiny", "architecture": "cnn", "recipe": "snn", "activation": "selu", "seed": 0}


@pytest.mark.slow
def test_a_run_extended_to_more_steps_is_the_run_it_would_have_been(tiny_h5, selu_run, tmp_path):
    extended = _copy(selu_run, tmp_path)
    metrics = _train(tiny_h5, extended, replace(SMALL, steps=18))
    assert metrics["resumed_from_step"] == 12 and metrics["final_step"] == 18
    assert [h["step"] for h in metrics["evaluations"]] == [0, 6, 12, 18]  # kept from before the resume
    _train(tiny_h5, tmp_path / "straight", replace(SMALL, steps=18))
    # the same batches, dropout masks, logged means and update ratios
    assert_same_run(*({"run": run, "checkpoints": run / "ckpt", "logs": run / "logs"}
                      for run in (extended, tmp_path / "straight")))


@pytest.mark.slow
def test_a_run_killed_while_its_checkpoint_was_written_resumes_exactly_from_the_one_before(tiny_h5, selu_run,
                                                                                          tmp_path):
    # ckpt-12's files are on disk, but the checkpoint list still names ckpt-6 (the kill came before it was updated);
    # the records, the unlogged losses and the update ratios' weights were already saved for step 12
    killed = _copy(selu_run, tmp_path)
    state = killed / "ckpt" / "checkpoint"
    state.write_text('model_checkpoint_path: "ckpt-6"\nall_model_checkpoint_paths: "ckpt-6"\n')
    metrics = _train(tiny_h5, killed, replace(SMALL, steps=18))
    assert metrics["resumed_from_step"] == 6 and metrics["final_step"] == 18
    _train(tiny_h5, tmp_path / "straight", replace(SMALL, steps=18))
    assert_same_run(*({"run": run, "checkpoints": run / "ckpt", "logs": run / "logs"}
                      for run in (killed, tmp_path / "straight")))


@pytest.mark.slow
def test_changed_settings_start_over_instead_of_resuming(tiny_h5, selu_run, tmp_path):
    metrics = _train(tiny_h5, _copy(selu_run, tmp_path), replace(SMALL, learning_rate=1e-3))
    assert metrics["resumed_from_step"] == 0 and metrics["final_step"] == 12


def test_same_config_and_seed_give_identical_accuracy_and_layer_statistics(tiny_h5, selu_run, selu_extracted,
                                                                           tmp_path):
    (first, first_run), (first_extracted, _) = selu_run, selu_extracted
    second = _train(tiny_h5, tmp_path / "again")
    second_extracted = _extract(tiny_h5, tmp_path / "again", tmp_path / "extracted")
    assert second["test_accuracy"] == first["test_accuracy"] and second["test_loss"] == first["test_loss"]
    assert second["evaluations"] == first["evaluations"] and second["training"] == first["training"]
    for table in ("training_stats.csv", "training_histograms.csv"):  # every layer over training, bit for bit
        assert (tmp_path / "again" / table).read_text() == (first_run / table).read_text()
    assert second_extracted["layers"] == first_extracted["layers"]  # and the extracted activations


def _rows_at(folder, step):
    with open(folder / "training_stats.csv") as f:
        return [{k: v for k, v in row.items() if k != "seed"} for row in csv.DictReader(f) if int(row["step"]) == step]


def test_a_batch_order_seed_of_its_own_changes_the_batches_not_the_initial_weights(tiny_h5, selu_run, tmp_path):
    first, first_run = selu_run
    other_order = _train(tiny_h5, tmp_path / "order1", replace(SMALL, order_seed=1))
    assert other_order["run"].endswith("/selu/seed0-order1")
    # the same weights at step 0 (the probe's statistics), other batches after
    assert _rows_at(tmp_path / "order1", 0) == _rows_at(first_run, 0)
    assert other_order["training"] != first["training"]
    other_init = _train(tiny_h5, tmp_path / "init1", replace(SMALL, seed=1, order_seed=0))
    assert _rows_at(tmp_path / "init1", 0) != _rows_at(first_run, 0)
    # a batch order seed equal to the seed is the run without one (a crossed design's diagonal is the joint runs)
    same = _train(tiny_h5, tmp_path / "order0", replace(SMALL, order_seed=0))
    assert same["training"] == first["training"] and same["evaluations"] == first["evaluations"]
    assert other_init["settings"]["order_seed"] == 0 and first["settings"]["order_seed"] is None


def test_a_runs_name_from_its_record_names_its_batch_order_only_when_it_has_its_own():
    record = {"dataset": "d", "recipe": "snn", "activation": "relu", "seed": 0, "learning_rate": 0.001}
    assert run_name(**run_ident(record)) == "d/cnn/snn/relu/seed0"
    assert run_name(**run_ident({**record, "order_seed": 2})) == "d/cnn/snn/relu/seed0-order2"


def test_bad_settings_are_user_errors(tiny_h5, tmp_path):
    with pytest.raises(UserError, match="steps must be at least 1"):
        _train(tiny_h5, tmp_path, TrainSettings(steps=0))
    with pytest.raises(UserError, match="fewer than one batch"):
        _train(tiny_h5, tmp_path, TrainSettings(steps=2, batch_size=1000))
    with pytest.raises(UserError, match="the test split has 64 images, fewer than probe_size=65"):
        _train(tiny_h5, tmp_path, TrainSettings(steps=2, probe_size=65))


def test_extraction_writes_every_layer_and_matching_statistics(tiny_h5, selu_extracted):
    result, out = selu_extracted
    assert result["step"] == 12 and result["activation"] == "selu" and result["probe_images"] == 40
    with h5py.File(out / "a.h5", "r") as f:
        assert list(f["activations"]) == sorted(LAYER_NAMES)
        assert f["activations/conv1"].shape == (40, 14, 14, 32)
        assert f["activations/logits"].shape == (40, 4)
        assert f.attrs["recipe"] == "snn"
        for layer in LAYER_NAMES:
            values = f["activations"][layer][:].astype(np.float64)
            assert result["layers"][layer]["mean"] == pytest.approx(values.mean(), rel=1e-5, abs=1e-7)
            assert result["layers"][layer]["std"] == pytest.approx(values.std(), rel=1e-5)
        accuracy = (f["probe/predictions"][:] == f["probe/labels"][:]).mean()
        # The first 40 test images, read batch by batch (16, 16, 8) and stored beside their activations.
        images, labels = read_split(tiny_h5, "test", limit=40)
        assert (f["probe/images"][:] == images).all() and (f["probe/labels"][:] == labels).all()
    assert result["probe_accuracy"] == pytest.approx(accuracy)
    assert json.loads((out / "a.json").read_text()) == json.loads(json.dumps(result))
    with open(out / "a.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["layer"] for r in rows] == list(LAYER_NAMES) == result["layer_order"]  # the model's order
    assert float(rows[0]["mean"]) == pytest.approx(result["layers"]["conv1"]["mean"])


def test_evaluating_on_data_of_another_shape_is_a_user_error(selu_run, tmp_path):
    from actviz.evaluation import evaluate_checkpoint
    from actviz.formats import write_dataset_h5

    other = tmp_path / "other.h5"
    images = np.zeros((8, 32, 32, 3), np.uint8)
    write_dataset_h5(other, {"train": (images, np.zeros(8)), "test": (images, np.zeros(8))},
                     {"name": "other", "num_classes": 10, "classes": list("abcdefghij"), "checksums": {}})
    with pytest.raises(UserError, match=r"trained on \[28, 28, 1\] images of 4 classes; this dataset has "
                                        r"\[32, 32, 3\] images of 10"):
        evaluate_checkpoint(selu_run[1] / "ckpt", other)


def test_extraction_without_training_is_a_user_error(tiny_h5, tmp_path):
    with pytest.raises(UserError, match="train first"):
        _extract(tiny_h5, tmp_path / "none", tmp_path)


def test_extraction_of_more_images_than_the_test_split_is_a_user_error(tiny_h5, selu_run, tmp_path):
    with pytest.raises(UserError, match="the test split has 64 images, fewer than probe_images=65"):
        _extract(tiny_h5, selu_run[1], tmp_path, ExtractSettings(probe_images=65))


@pytest.mark.slow
def test_a_diverging_run_stops_cleanly_marked_with_its_step_and_extracts_finite_weights(tiny_h5, tmp_path):
    settings = replace(SMALL, learning_rate=1e12, steps=24, checkpoint_every=12)
    metrics = _train(tiny_h5, tmp_path, settings, activation="relu")
    assert isinstance(metrics["diverged_at_step"], int) and 1 <= metrics["diverged_at_step"] <= 24
    assert metrics["test_accuracy"] is None and metrics["test_loss"] is None and metrics["final_evaluation"] is None
    # stopped where the loss first became NaN or infinite (not at the later step that noticed it), not trained on
    assert metrics["final_step"] == metrics["diverged_at_step"] < 24
    predictions = read_predictions(tmp_path / "predictions.h5")  # there, saying there is nothing to compare
    assert predictions["diverged"] and predictions["probabilities"].shape == (0, 4)
    json.loads((tmp_path / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in metrics"))
    # The newest checkpoint is from before the divergence, so extraction still works on finite weights.
    step = int(metrics["checkpoint"].rsplit("-", 1)[1])
    assert step < metrics["diverged_at_step"]
    result = _extract(tiny_h5, tmp_path, tmp_path / "extracted", ExtractSettings(probe_images=16))
    assert result["step"] == step and all(np.isfinite(s["mean"]) for s in result["layers"].values())
    with open(tmp_path / "training_stats.csv") as f:
        assert all(np.isfinite(float(r["mean"])) for r in csv.DictReader(f))


@pytest.mark.slow
def test_a_bfloat16_run_trains_and_records_float32_statistics(tiny_h5, tmp_path):
    metrics = _train(tiny_h5, tmp_path, replace(SMALL, precision="bfloat16"))
    assert metrics["settings"]["precision"] == "bfloat16" and metrics["diverged_at_step"] is None
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert json.loads((tmp_path / "ckpt" / "run.json").read_text())["precision"] == "bfloat16"
    with open(tmp_path / "training_stats.csv") as f:
        assert all(np.isfinite(float(r["std"])) and float(r["std"]) > 0 for r in csv.DictReader(f))
    result = _extract(tiny_h5, tmp_path, tmp_path / "extracted", ExtractSettings(probe_images=16))
    with h5py.File(tmp_path / "extracted" / "a.h5", "r") as f:
        assert f["activations/conv2"].dtype == np.float32
    assert result["layers"]["dense1"]["std"] > 0


def test_gradient_statistics_equal_a_direct_gradient_tape_computation(tiny_h5):
    import tensorflow as tf

    from actviz.training import TrainingRun

    run = TrainingRun.build(tiny_h5, "selu", SMALL, threads=1, log=lambda *_: None)
    _, outputs, output_stds, kernel_norms, _, _ = run.probe.with_gradients()
    images, labels = run.probe.images, run.probe.labels.astype(np.int64)
    model = run.model
    with tf.GradientTape() as tape:  # the whole model's loss, every trainable weight: another route
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, model(images, training=False))
    gradients = dict(zip((v.path for v in model.trainable_variables), tape.gradient(loss, model.trainable_variables)))
    for name, norm in zip(run.layer_names, kernel_norms):
        assert norm == pytest.approx(float(tf.norm(gradients[f"{name}/kernel"])), rel=1e-5), name
    logits = outputs[-1].astype(np.float64)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    d_logits = (softmax - np.eye(4)[labels]) / len(labels)  # d(mean cross-entropy)/d(logits)
    assert output_stds[-1] == pytest.approx(d_logits.std(), rel=1e-4)
    d_dense2 = d_logits @ np.asarray(model.get_layer("logits").kernel).T  # dropout is off in inference
    assert output_stds[run.layer_names.index("dense2")] == pytest.approx(d_dense2.std(), rel=1e-4)


def test_gradients_and_moment_predictions_are_recorded_for_every_layer(selu_run):
    from actviz.stats import GRADIENT_COLUMNS, MOMENT_COLUMNS

    with open(selu_run[1] / "training_stats.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert all(row[k] != "" for k in ("grad_output_std", "grad_kernel_norm", *MOMENT_COLUMNS)), row
        assert float(row["grad_output_std"]) > 0 and float(row["predicted_std"]) > 0
        assert (row["update_ratio"] == "") == (row["step"] == "0")  # no interval before the first step
    _, accumulator = tensorboard_tags(selu_run[1] / "logs")
    assert [e.step for e in accumulator.Tensors("grads/conv2/output_std")] == [0, 6, 12]
    assert {f"grads/{layer}/{tag}" for layer in LAYER_NAMES for tag in ("output_std", "kernel_norm")} <= set(
        accumulator.Tags()["tensors"])
    assert set(GRADIENT_COLUMNS) <= set(rows[0])


@pytest.mark.slow
def test_the_jacobian_estimate_is_exact_on_the_scaled_basis_and_unbiased_on_random_directions():
    import keras
    import tensorflow as tf

    from actviz.model import build_model, input_layer_name, pre_activation_chain
    from actviz.training import jvp_squares

    def jacobian_squares(chain, x, directions):  # the probe's estimate, over several directions an image
        squares = []
        for direction in directions:
            with tf.autodiff.ForwardAccumulator(x, tf.constant(direction)) as accumulator:
                pre, _ = chain(x)
            squares.append(jvp_squares(accumulator, pre))
        return tf.reduce_mean(tf.stack(squares), axis=0) / x.shape[0]

    keras.utils.set_random_seed(3)
    model = build_model((4, 4, 1), 3, "selu", "snn", 0.0, 0.2, [100.0], [50.0], architecture="mlp2", width=8)
    chain = pre_activation_chain(model)
    images = np.random.default_rng(0).integers(0, 256, (1, 4, 4, 1)).astype(np.uint8)
    x = tf.cast(keras.Model(model.input, model.get_layer(input_layer_name(model)).output)(images), tf.float32)
    with tf.GradientTape(persistent=True) as tape:  # the exact Jacobians, 16 inputs to each layer's units
        tape.watch(x)
        pre, _ = chain(x)
    exact = [float(tf.reduce_sum(tf.square(tape.jacobian(z, x)))) for z in pre]
    basis = (4.0 * np.eye(16, dtype=np.float32)).reshape(16, 1, 4, 4, 1)  # sqrt(16) e_i, one image
    assert np.asarray(jacobian_squares(chain, x, basis)) == pytest.approx(exact, rel=1e-5)
    gaussian = np.random.default_rng(1).standard_normal((4000, 1, 4, 4, 1)).astype(np.float32)
    assert np.asarray(jacobian_squares(chain, x, gaussian)) == pytest.approx(exact, rel=0.05)  # 4,000 draws


def test_q_and_corr_are_the_mean_squared_value_and_the_mean_cosine_of_two_different_images():
    from actviz.stats import pair_signal

    vectors = np.random.default_rng(0).normal(0.5, 1.0, (6, 3, 5)).astype(np.float32)
    flat = vectors.reshape(6, -1).astype(np.float64)
    cosines = [flat[a] @ flat[b] / np.linalg.norm(flat[a]) / np.linalg.norm(flat[b])
               for a in range(6) for b in range(6) if a != b]
    q, corr = pair_signal(vectors)
    assert q == pytest.approx(np.mean(flat ** 2), rel=1e-5) and corr == pytest.approx(np.mean(cosines), rel=1e-5)


def test_the_signal_is_measured_and_predicted_for_every_layer_finite_at_step_0(selu_run):
    from actviz.stats import SIGNAL_COLUMNS, SIGNAL_PREDICTION_COLUMNS

    with open(selu_run[1] / "training_stats.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert all(np.isfinite(float(row[k])) for k in SIGNAL_COLUMNS), row
        # the CNN's conv layers are outside the theory: measured, not predicted; its dense layers predicted one
        # step from the layer below, never along the path (it starts at a conv layer)
        dense = row["layer"].startswith(("dense", "logits"))
        assert (row["predicted_corr"] != "") == dense and row["path_corr"] == "", row
        assert -1 <= float(row["corr"]) <= 1 and float(row["q"]) > 0 and float(row["jacobian"]) > 0
    _, accumulator = tensorboard_tags(selu_run[1] / "logs")
    assert [e.step for e in accumulator.Tensors("signal/conv2/corr")] == [0, 6, 12]
    assert {f"signal/{layer}/{key}" for layer in LAYER_NAMES for key in SIGNAL_COLUMNS} <= set(
        accumulator.Tags()["tensors"])
    assert set(SIGNAL_PREDICTION_COLUMNS) <= set(rows[0])


@pytest.mark.parametrize("activation", ["relu", "selu", "tanh"])
def test_a_wide_random_mlps_measured_correlations_follow_the_predicted_path(tiny_h5, activation):
    from actviz import signal
    from actviz.stats import pair_signal
    from actviz.training import TrainingRun

    settings = replace(SMALL, architecture="mlp8", width=1024, probe_size=16)
    run = TrainingRun.build(tiny_h5, activation, settings, threads=1, log=lambda *_: None)
    _, _, _, _, pre, jacobians = run.probe.with_gradients()
    rows = [(*pair_signal(z), jacobians[name]) for name, z in zip(run.layer_names, pre)]
    inputs = run.input_model(run.probe.images, training=False).numpy()
    path = [p["path"] for p in signal.predict(run.probe.signal_layers(run.weights()), rows, pair_signal(inputs))]
    for name, (q, corr, jacobian), (q_path, corr_path, jacobian_path) in zip(run.layer_names[:-1], rows, path):
        # finite width (1,024 units) and 16 probe images: measured within these of the infinite-width path (the
        # logits, 4 units wide, are left out)
        assert corr == pytest.approx(corr_path, abs=CORR_TOLERANCE), name
        assert q == pytest.approx(q_path, rel=LENGTH_TOLERANCE), name
        assert jacobian == pytest.approx(jacobian_path, rel=JACOBIAN_TOLERANCE), name


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["cnn", "mlp3"])
@pytest.mark.parametrize("recipe", ["snn", "seed"])
def test_every_signal_column_is_finite_at_step_0_for_every_activation(tiny_h5, architecture, recipe):
    from actviz import signal
    from actviz.activations import ACTIVATIONS
    from actviz.stats import pair_signal
    from actviz.training import TrainingRun

    for activation in ACTIVATIONS:
        settings = replace(SMALL, recipe=recipe, architecture=architecture, width=32)
        run = TrainingRun.build(tiny_h5, activation, settings, threads=1, log=lambda *_: None)
        inputs, _, _, _, pre, jacobians = run.probe.with_gradients()
        measured = [(*pair_signal(z), jacobians[name]) for name, z in zip(run.layer_names, pre)]
        assert np.isfinite(measured).all(), activation
        for prediction in signal.predict(run.probe.signal_layers(run.weights()), measured, pair_signal(inputs)):
            columns = signal.prediction_columns(prediction)
            assert all(np.isfinite(v) for v in columns.values() if v is not None), (activation, columns)
        assert all(v is not None for layer in run.initialisation.values() for v in layer.values()), activation


def test_a_smelu_runs_identity_holds_its_beta_and_other_runs_resume_as_before(tiny_h5):
    from actviz.training import TrainingRun

    relu = TrainingRun.build(tiny_h5, "relu", SMALL, threads=1, log=lambda *_: None).identity()
    smelu = TrainingRun.build(tiny_h5, "smelu", replace(SMALL, smelu_beta=0.5), threads=1, log=lambda *_: None)
    assert "smelu_beta" not in relu and smelu.identity()["smelu_beta"] == 0.5
    x = np.array([[-1.0, 0.0, 0.25, 1.0]], np.float32)  # the model's own activation at beta 0.5
    np.testing.assert_allclose(smelu.model.get_layer("conv1").activation(x), [[0, 0.125, 0.28125, 1.0]], rtol=1e-6)
