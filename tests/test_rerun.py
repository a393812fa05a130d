"""A run re-creates itself (scripts/rerun.py): retrained from its record, it comes out bit-identical; a record that
names other versions (or other results) is reported with what differs; a missing record or a changed dataset is
one line."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import REPO

from actviz.formats import read_info, read_split, write_dataset_h5
from actviz.rerun import record_differences

pytestmark = pytest.mark.slow  # two tiny trainings in subprocesses, each starting TensorFlow

RUN = "results/runs/tiny/cnn/snn/selu/seed0"
TRAIN = ["--architecture", "cnn", "--recipe", "snn", "--activation", "selu", "--seed", "0", "--steps", "12",
         "--batch-size", "16", "--learning-rate", "0.003", "--log-every", "4", "--eval-every", "6", "--stats-every",
         "6", "--histogram-every", "6", "--image-every", "12", "--checkpoint-every", "6", "--probe-size", "8",
         "--threads", "1"]


def _python(*args, cwd):
    # as a workflow job of one thread: Snakemake sets the BLAS threads to the job's
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def trained(tiny_h5, tmp_path_factory):
    """A project folder with the tiny dataset in results/data and one run trained there as the workflow would."""
    project = tmp_path_factory.mktemp("rerun")
    (project / "results" / "data").mkdir(parents=True)
    shutil.copy(tiny_h5, project / "results" / "data" / "tiny.h5")
    result = _python(REPO / "scripts" / "train.py", "--dataset", "results/data/tiny.h5", *TRAIN, "--checkpoint-dir",
                     "results/checkpoints/tiny/cnn/snn/selu/seed0", "--log-dir", "results/logs/tiny", "--metrics",
                     f"{RUN}/metrics.json", "--stats", f"{RUN}/training_stats.csv", "--histograms",
                     f"{RUN}/training_histograms.csv", cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def _copy(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "project", symlinks=True)


def test_a_run_retrained_from_its_record_is_identical(trained, tmp_path):
    project = _copy(trained, tmp_path)
    result = _python(REPO / "scripts" / "rerun.py", RUN, cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("identical: tiny/cnn/snn/selu/seed0 came out bit for bit the same")
    assert "the records differ" not in result.stdout  # same versions, same machine, same threads


def test_a_record_with_other_results_and_versions_is_not_identical_and_names_what_differs(trained, tmp_path):
    project = _copy(trained, tmp_path)
    path = project / RUN / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["versions"]["tensorflow"] = "0.0-changed"  # as if trained under another TensorFlow ...
    metrics["test_accuracy"] += 0.01  # ... which gave another accuracy
    path.write_text(json.dumps(metrics))
    result = _python(REPO / "scripts" / "rerun.py", RUN, cwd=project)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "not identical: tiny/cnn/snn/selu/seed0 differs in test_accuracy"
    assert lines[1] == f"the records differ in: versions: tensorflow 0.0-changed -> {metrics_version()}"


def metrics_version():
    from importlib import metadata

    return metadata.version("tensorflow")


def test_a_missing_record_is_one_line(tmp_path):
    result = _python(REPO / "scripts" / "rerun.py", "results/runs/nothing/here", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("error: results/runs/nothing/here: no metrics.json here: give a run's folder, "
                                     "e.g. results/runs/FashionMNIST-sample/cnn/snn/relu/seed0")


def test_a_dataset_whose_checksums_changed_is_one_line(trained, tmp_path):
    project = _copy(trained, tmp_path)
    h5 = project / "results" / "data" / "tiny.h5"
    info = read_info(h5)
    splits = {name: read_split(h5, name) for name in ("train", "test")}
    h5.unlink()
    write_dataset_h5(h5, splits, {**{k: info[k] for k in ("name", "classes", "num_classes", "height", "width",
                                                          "channels")}, "checksums": {"tiny": "sha256:1"}})
    result = _python(REPO / "scripts" / "rerun.py", RUN, cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("error: " + str(h5.resolve()) + ": the dataset's checksums changed since the run "
                                     "was trained (tiny): not the data it was trained on")


def test_the_conditions_name_each_changed_version_machine_and_defaulted_setting():
    old = {"versions": {"tensorflow": "2.20.0", "numpy": "2.4.6"}, "machine": {"model": "207", "features": ["avx2"]}}
    found = record_differences(old, {"tensorflow": "2.21.0", "numpy": "2.4.6"},
                               {"model": "167", "features": ["avx2"]}, ["width"])
    assert found == ["versions: tensorflow 2.20.0 -> 2.21.0", "machine: model 207 -> 167",
                     "settings: width not recorded, the defaults used"]
    assert record_differences({}, {"a": "1"}, {"b": "2"})[0] == "versions: not recorded (a run from before they were)"
