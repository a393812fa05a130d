"""Faults: a training job killed mid-run resumes; parallel runs keep to their own files; disk full."""

import csv
import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import REPO, assert_report_shows, assert_same_run, copy_project, snakemake, tensorboard_tags

from actviz.errors import UserError

RUN = "FashionMNIST-sample/cnn/snn/selu/seed0"
# Cadences that do not divide the checkpoints' on purpose: the losses not logged yet and the weights of the
# last statistics must travel with a checkpoint for the resumed run to be the same run.
LONG = {"activations": ["selu"], "recipes": ["snn"], "steps": 600, "batch_size": 32, "log_every": 30,
        "eval_every": 200, "stats_every": 75, "histogram_every": 75, "image_every": 600, "checkpoint_every": 100,
        "probe_size": 16, "probe_images": 40}


def _python_processes(script, cwd):
    """Pids of the Python processes running ``script`` in the folder ``cwd`` (not their shells)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
                here = (proc / "cwd").resolve()
            except OSError:
                continue
            if len(argv) > 1 and argv[1] == script and here == Path(cwd).resolve():
                pids.append(int(proc.name))
    return pids


def _checkpoint_steps(folder):
    return sorted(int(p.name.split("-")[1].split(".")[0]) for p in folder.glob("ckpt-*.index"))


def _registered_step(folder):
    """The step of the newest checkpoint TensorFlow's checkpoint list names: the one a rerun resumes from (a
    kill while it writes the next one leaves that one's files on disk, unnamed)."""
    state = (folder / "checkpoint").read_text()
    return int(re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M).group(1))


def _paths(project):
    return {"run": project / "results" / "runs" / RUN, "checkpoints": project / "results" / "checkpoints" / RUN,
            "logs": project / "results" / "logs" / RUN}


@pytest.mark.system
@pytest.mark.e2e
def test_a_training_job_killed_at_a_random_checkpoint_resumes_into_the_same_run(tmp_path):
    kill_after = random.Random().choice([100, 200, 300, 400])  # a different checkpoint from run to run
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    for project in (killed, straight):
        copy_project(project)
        (project / "long.yaml").write_text(yaml.safe_dump(LONG))
    checkpoints = _paths(killed)["checkpoints"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    first = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", "report", "--configfile",
                              "long.yaml"], cwd=killed, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        deadline = time.monotonic() + 600
        while not [s for s in _checkpoint_steps(checkpoints) if s >= kill_after]:
            assert first.poll() is None and time.monotonic() < deadline, f"ended before a checkpoint at {kill_after}"
            time.sleep(0.05)
        trainers = _python_processes("scripts/train.py", killed)
        assert len(trainers) == 1
        os.kill(trainers[0], signal.SIGKILL)  # as the OOM killer or a preempting scheduler would
        output, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            for pid in _python_processes("scripts/train.py", killed):
                os.kill(pid, signal.SIGKILL)
    assert first.returncode != 0, output[-3000:]
    killed_at = _registered_step(checkpoints)
    # killed after the checkpoint's files appeared: it is registered, or (killed mid-save) the one before is
    assert kill_after - LONG["checkpoint_every"] <= killed_at <= max(_checkpoint_steps(checkpoints)) < LONG["steps"]
    metrics_path = _paths(killed)["run"] / "metrics.json"
    assert not metrics_path.exists() and not metrics_path.with_name("predictions.h5").exists()  # nothing finished

    again = snakemake(killed, "--cores", "2", "report", "--configfile", "long.yaml")
    assert again.returncode == 0, again.stderr[-5000:]
    metrics = json.loads(metrics_path.read_text())
    assert metrics["resumed_from_step"] == killed_at and metrics["final_step"] == LONG["steps"]
    assert [e["step"] for e in metrics["evaluations"]] == [0, 200, 400, 600]  # kept from before the kill
    assert "selu" in (killed / "results" / "report.html").read_text()
    # TensorBoard shows one continuous run: every train-loss step once, in order, up to the end
    # (what the killed process logged after its last checkpoint is superseded by the resumed run).
    _, accumulator = tensorboard_tags(_paths(killed)["logs"])
    assert sorted({e.step for e in accumulator.Tensors("loss/train")}) == list(range(30, LONG["steps"] + 1, 30))

    uninterrupted = snakemake(straight, "--cores", "2", str(_paths(straight)["run"].relative_to(straight) /
                                                             "metrics.json"), "--configfile", "long.yaml")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-5000:]
    assert_same_run(_paths(killed), _paths(straight))  # killed after step {killed_at}: the same run


@pytest.mark.system
def test_two_trainings_in_parallel_in_one_results_tree_keep_to_their_own_files(tmp_path, tiny_h5):
    """Two train.py processes (relu and selu) at once, writing under the same folders."""
    procs = {activation: subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "train.py"), "--dataset", str(tiny_h5), "--activation", activation,
         "--steps", "30", "--batch-size", "16", "--log-every", "5", "--eval-every", "10", "--stats-every", "10",
         "--histogram-every", "10", "--image-every", "30", "--checkpoint-every", "10", "--probe-size", "8",
         "--threads", "1", "--quiet", "--checkpoint-dir", f"results/checkpoints/tiny/snn/{activation}/seed0",
         "--log-dir", f"results/logs/tiny/snn/{activation}/seed0",
         "--metrics", f"results/runs/tiny/snn/{activation}/seed0/metrics.json",
         "--stats", f"results/runs/tiny/snn/{activation}/seed0/training_stats.csv",
         "--histograms", f"results/runs/tiny/snn/{activation}/seed0/training_histograms.csv"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for activation in ("relu", "selu")}
    for activation, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output[-3000:]
    for activation in ("relu", "selu"):
        run = tmp_path / "results" / "runs" / "tiny" / "snn" / activation / "seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["activation"] == activation and metrics["final_step"] == 30
        with open(run / "training_stats.csv") as f:
            assert {row["activation"] for row in csv.DictReader(f)} == {activation}
        checkpoints = tmp_path / "results" / "checkpoints" / "tiny" / "snn" / activation / "seed0"
        assert json.loads((checkpoints / "run.json").read_text())["activation"] == activation
        tags, _ = tensorboard_tags(tmp_path / "results" / "logs" / "tiny" / "snn" / activation / "seed0")
        assert "hparams" in tags and "activations/conv1" in tags["histograms"]
    # The two runs learned differently: nothing was shared or overwritten.
    relu, selu = (json.loads((tmp_path / "results" / "runs" / "tiny" / "snn" / a / "seed0" / "metrics.json")
                             .read_text()) for a in ("relu", "selu"))
    assert relu["training"] != selu["training"]


def test_a_full_disk_while_converting_is_one_clear_line_and_leaves_no_file(tmp_path, monkeypatch):
    import h5py

    from actviz.formats import write_dataset_h5

    real_create = h5py.Group.create_dataset

    def full_disk(self, *args, **kwargs):
        if args and args[0] == "labels":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", full_disk)
    import numpy as np

    splits = {s: (np.zeros((4, 8, 8, 1), np.uint8), np.arange(4) % 2) for s in ("train", "test")}
    with pytest.raises(UserError, match=r"d\.h5: cannot write \(No space left on device\)") as error:
        write_dataset_h5(tmp_path / "d.h5", splits, {"name": "d", "num_classes": 2})
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary


def _holding(path):
    """The command lines of the processes that have ``path`` open."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and any(fd.resolve() == path.resolve() for fd in (proc / "fd").iterdir()):
                found.append((proc.name, (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except OSError:
            continue
    return found


def _make_report(project, *variables):
    """`make report` of ``project`` with this virtualenv (never reinstalled), in its own process group."""
    venv = Path(sys.executable).parent.parent
    return subprocess.Popen(["make", "report", f"VENV={venv}", "-o", str(venv / ".installed"),
                             "REPORT_ARGS=--configfile long.yaml", *variables], cwd=project, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.system
@pytest.mark.e2e
def test_make_report_killed_with_its_whole_session_continues_when_run_again(tmp_path):
    if shutil.which("flock") is None:
        pytest.fail("flock (util-linux) is needed by make report")
    copy_project(tmp_path)
    (tmp_path / "long.yaml").write_text(yaml.safe_dump(LONG))
    checkpoints = _paths(tmp_path)["checkpoints"]
    first = _make_report(tmp_path)
    try:
        deadline = time.monotonic() + 600
        while not [s for s in _checkpoint_steps(checkpoints) if s >= 100]:
            assert first.poll() is None and time.monotonic() < deadline, first.stdout.read()[-3000:]
            time.sleep(0.05)
        second = _make_report(tmp_path, "REPORT_LOCK_WAIT=0")  # while the first holds the folder: refused
        output, _ = second.communicate(timeout=120)
        assert second.returncode != 0 and "another make report is running in this folder" in output, output
        trainers = _python_processes("scripts/train.py", tmp_path)
        assert trainers and {os.getpgid(pid) for pid in trainers} == {first.pid}  # all in make's process group
        os.killpg(first.pid, signal.SIGKILL)  # make, flock, snakemake and the training job: a power cut
        first.wait(timeout=60)
        deadline = time.monotonic() + 60
        while _holding(tmp_path / "results" / ".make-report.lock"):  # the killed processes take a moment to go
            assert time.monotonic() < deadline, _holding(tmp_path / "results" / ".make-report.lock")
            time.sleep(0.05)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert list((tmp_path / ".snakemake" / "locks").iterdir())  # Snakemake's lock is left behind
    killed_at = max(_checkpoint_steps(checkpoints))

    again = _make_report(tmp_path)
    output, _ = again.communicate(timeout=900)
    assert again.returncode == 0, output[-5000:]
    metrics = json.loads((_paths(tmp_path)["run"] / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == killed_at >= 100 and metrics["final_step"] == LONG["steps"]
    assert_report_shows(tmp_path / "results", [_paths(tmp_path)["run"]])
