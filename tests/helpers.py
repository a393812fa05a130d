"""What the tests share besides fixtures: fixture files in the exact upstream formats, readers of
TensorBoard logs, and running the workflow in a copy of the project."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from legacy_layout import write_legacy_layout  # noqa: F401  (the old project's layout, for own-dataset fixtures)
from parallel_benchmark import copy_project  # noqa: F401  (a scratch copy of the workflow, as the benchmarks make)

from actviz.datasets import IDX_FILES
from actviz.evaluation import read_predictions
from actviz.formats import write_idx

REPO = Path(__file__).resolve().parent.parent


def make_idx_dataset(folder, train=60, test=20, classes=10, seed=0):
    """Write the four IDX .gz files of a small random MNIST-shaped dataset into ``folder``."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    arrays = {}
    for split, n in (("train", train), ("test", test)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % classes).astype(np.uint8)
    for role, array in arrays.items():
        write_idx(folder / IDX_FILES[role], array)
    return arrays


def make_svhn_mat(path, n, seed=0):
    """An SVHN file in the upstream MATLAB v5 layout: X is 32x32x3xN uint8, y is Nx1 in 1..10."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    labels = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 10 stands for the digit 0
    savemat(path, {"X": images, "y": labels}, format="5")
    return images, labels


def make_cifar10_tar(path, per_batch, seed=0, extra_members=()):
    """A CIFAR-10 binary archive as published: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin,
    each record one label byte then 1,024 red, 1,024 green and 1,024 blue bytes. Returns
    {batch name: (labels, images N x 3 x 32 x 32)}."""
    import io
    import tarfile

    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        members = []
        for name in names:
            labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
            images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
            batches[name] = (labels, images)
            records = np.concatenate([labels[:, None], images.reshape(per_batch, -1)], axis=1)
            members.append((f"cifar-10-batches-bin/{name}", records.tobytes()))
        members.append(("cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\n"))
        for name, data in [*members, *extra_members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return batches


def tensorboard_tags(logdir):
    """{plugin name: set of tags} of every summary under ``logdir``, read by TensorBoard's own reader."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    accumulator.Reload()
    tags = {}
    for tag in accumulator.Tags()["tensors"]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        tags.setdefault(plugin, set()).add(tag)
    return tags, accumulator


def expected_tags(layers):
    """The summaries every training run must log, by TensorBoard plugin."""
    return {
        "scalars": {"loss/train", "accuracy/train", "accuracy/validation", "loss/validation", "learning_rate",
                    "final/test_accuracy", "final/test_loss", "final/validation_accuracy", "final/validation_loss"}
        | {f"stats/{layer}/{key}" for layer in layers for key in ("mean", "std", "p1", "p99", "dead_fraction",
                                                                  "negative_fraction", "zero_fraction")},
        "histograms": {f"activations/{layer}" for layer in layers},
        "images": {f"activation_{kind}/{layer}" for layer in layers for kind in ("histogram", "grid")},
    }


ACTIVATIONS = ["relu", "lrelu", "selu"]
RECIPES = ["snn", "seed"]
TINY = {"activations": ACTIVATIONS, "recipes": RECIPES, "steps": 20, "batch_size": 32, "log_every": 5,
        "eval_every": 10, "stats_every": 10, "histogram_every": 10, "image_every": 20, "checkpoint_every": 10,
        "probe_size": 16, "probe_images": 40}


def snakemake(workdir, *args):
    """Run Snakemake with this Python in ``workdir``."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=1200)


def copy_finished_project(project, folder):
    """Copy a project that ran the workflow, its results and Snakemake's records included, into
    ``folder``: a test that runs Snakemake again there changes nothing another test reads."""
    shutil.copytree(project, folder, symlinks=True, dirs_exist_ok=True)
    return folder


def assert_report_shows(results, runs):
    """The report in ``results`` (the workflow's results/ folder) compares exactly the finished ``runs``
    (their folders, each holding metrics.json): one accuracy row per run, with the run's seed, final
    test accuracy and step, and the HTML shows that accuracy."""
    html = (results / "report.html").read_text()
    accuracy = json.loads((results / "tables" / "report.json").read_text())["accuracy"]
    rows = {(r["dataset"], r["architecture"], r["recipe"], r["activation"]): r for r in accuracy}
    assert len(rows) == len(accuracy) == len(runs), sorted(rows)
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        row = rows[metrics["dataset"], metrics["architecture"], metrics["recipe"], metrics["activation"]]
        assert row["seeds"] == [metrics["seed"]] and row["steps"] == metrics["final_step"]
        assert row["test_accuracy_mean"] == metrics["test_accuracy"]
        assert f"{metrics['test_accuracy']:.4f}" in html, run


TIMING = {"train_seconds", "images_per_second", "seconds", "versions", "checkpoint", "resumed_from_step"}


def assert_same_run(first, second):
    """Assert two finished runs are the same run. Each is {"run": folder of metrics.json and the CSVs,
    "checkpoints": folder, "logs": TensorBoard folder}: metrics (timings aside), every layer's
    statistics and histograms over training byte for byte, every test image's predictions, every weight, optimizer
    slot and dropout seed of the last checkpoint, and the TensorBoard scalars (the last value logged at each step)."""
    import tensorflow as tf

    metrics = [{k: v for k, v in json.loads((paths["run"] / "metrics.json").read_text()).items() if k not in TIMING}
               for paths in (first, second)]
    assert metrics[0] == metrics[1]
    for table in ("training_stats.csv", "training_histograms.csv"):
        assert (first["run"] / table).read_bytes() == (second["run"] / table).read_bytes(), table
    predictions = [read_predictions(paths["run"] / "predictions.h5") for paths in (first, second)]
    assert predictions[0].keys() == predictions[1].keys() and len(predictions[0]["labels"]) > 0
    for name, values in predictions[0].items():  # every image's class probabilities, bit for bit
        assert np.array_equal(values, predictions[1][name]), name
    readers = [tf.train.load_checkpoint(str(paths["checkpoints"])) for paths in (first, second)]
    names = [sorted(n for n in reader.get_variable_to_shape_map() if not n.startswith(("_CHECKPOINTABLE",
                                                                                       "save_counter")))
             for reader in readers]
    assert names[0] == names[1] and len(names[0]) > 20
    assert any(name.startswith("dropout_seeds/") for name in names[0])  # the dropout masks' generators too
    for name in names[0]:
        assert np.array_equal(readers[0].get_tensor(name), readers[1].get_tensor(name)), name
    scalars = []
    for paths in (first, second):
        tags, accumulator = tensorboard_tags(paths["logs"])
        scalars.append({tag: {e.step: tf.make_ndarray(e.tensor_proto).item() for e in accumulator.Tensors(tag)}
                        for tag in tags["scalars"] if not tag.startswith("final/")})
    assert scalars[0] == scalars[1]
