"""Every script has --help, and a user's mistake is one line and exit code 2, never a traceback."""

import json
import subprocess
import sys

import pytest
from helpers import REPO, write_legacy_layout

from actviz.formats import read_split

SCRIPTS = sorted(p.relative_to(REPO).as_posix() for folder in ("scripts", "bench")
                 for p in (REPO / folder).glob("*.py") if 'if __name__ == "__main__":' in p.read_text())
# Scripts that start TensorFlow before they meet the mistake: 3 s each, in the slow tier.
STARTS_TENSORFLOW = pytest.mark.slow


def _run(*args, cwd=REPO):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help(script):
    result = _run(REPO / script, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage:")


@pytest.mark.parametrize("args, message", [
    (["download.py", "--dataset", "NoSuchSet"], "unknown dataset 'NoSuchSet'"),
    pytest.param(["train.py", "--dataset", "missing.h5", "--checkpoint-dir", "c", "--log-dir", "l", "--metrics",
                  "m.json", "--stats", "s.csv", "--histograms", "h.csv"], "missing.h5: dataset file not found",
                 marks=STARTS_TENSORFLOW),
    pytest.param(["train.py", "--dataset", "missing.h5", "--checkpoint-dir", "c", "--log-dir", "l", "--metrics",
                  "m.json", "--stats", "s.csv", "--histograms", "h.csv", "--stats-every", "0"],
                 "stats_every must be at least 1, got 0", marks=STARTS_TENSORFLOW),
    (["download.py", "--dataset", "MNIST"], "MNIST: give --raw-dir"),
    (["convert.py", "--dataset", "FashionMNIST", "--source", "nowhere", "--out", "x.h5"], "raw file missing"),
    (["convert.py", "--dataset", "mine", "--source", "nowhere", "--out", "x.h5"], "no data.h5 or data.hy"),
    pytest.param(["extract_activations.py", "--dataset", "missing.h5", "--checkpoint-dir", "none", "--out", "a.h5",
                  "--stats", "a.json", "--stats-csv", "a.csv"], "train first", marks=STARTS_TENSORFLOW),
    (["report.py", "--metrics", "m.json", "--stats", "s.json", "--activations", "a.h5", "--datasets", "d.h5",
      "--training-stats", "t.csv", "--html", "r.html", "--accuracy-csv", "a.csv", "--comparisons-csv", "c.csv",
      "--per-class-csv", "p.csv", "--confusion-csv", "c.csv", "--layer-stats-csv", "l.csv", "--training-stats-csv",
      "t.csv", "--curves-csv", "c.csv", "--numbers-json", "r.json"], "m.json: cannot read"),
    (["report.py", "--metrics", "m.json", "--stats", "s.json", "--activations", "a.h5", "--datasets", "d.h5",
      "--training-stats", "t.csv", "--html", "r.html", "--accuracy-csv", "a.csv", "--comparisons-csv", "c.csv",
      "--per-class-csv", "p.csv", "--confusion-csv", "c.csv", "--layer-stats-csv", "l.csv", "--training-stats-csv",
      "t.csv", "--curves-csv", "c.csv", "--numbers-json", "r.json", "--histogram-range", "-1", "x"],
     "a range is 'auto' or two numbers LOW HIGH, got '-1 x'"),
    (["decide.py", "--look", "2", "--planned-json", "[[0, 1], [0, 1, 2]]", "--out", "d.json"],
     "--look 2: the plan has looks 0 to 1"),
    (["decide.py", "--look", "0", "--planned-json", "[[0, 1], [0, 1, 2]]", "--out", "d.json"],
     "no --metrics to decide on"),
    (["decide.py", "--look", "1", "--planned-json", "[[0, 1], [0, 1, 2]]", "--previous",
      "gone.json", "--out", "d.json"], "gone.json: cannot read"),
    pytest.param(["evaluate.py", "--checkpoint-dir", "none", "--dataset", "missing.h5"],
                 "missing.h5: dataset file not found", marks=STARTS_TENSORFLOW),
])
def test_user_errors_are_one_line_without_traceback(tmp_path, args, message):
    result = _run(REPO / "scripts" / args[0], *args[1:], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_download_fetches_and_converts_the_embedded_sample_only_where_told(tmp_path):
    result = _run(REPO / "scripts" / "download.py", "--dataset", "FashionMNIST-sample", "--quiet", "--raw-dir",
                  "raw", "--manifest", "raw/manifest.json", "--out", "sample.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "10000 train + 2000 test" in result.stdout
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(
        ["manifest.json", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "sample.h5"]  # nothing in datasets/


def test_download_checks_and_converts_an_own_dataset(tmp_path):
    import numpy as np

    write_legacy_layout(tmp_path / "datasets" / "mine", np.zeros((10, 8, 8, 1), np.uint8), np.arange(10) % 2, 2)
    result = _run(REPO / "scripts" / "download.py", "--dataset", "mine", "--out", "mine.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mine: 8 train + 2 test images" in result.stdout
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["mine"]
    assert [len(read_split(tmp_path / "mine.h5", split)[1]) for split in ("train", "test")] == [8, 2]


def test_download_takes_every_mirror_given():
    import importlib.util

    spec = importlib.util.spec_from_file_location("download_script", REPO / "scripts" / "download.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(["--dataset", "MNIST", "--raw-dir", "r", "--mirror", "/a", "--mirror", "http://b/", "/c"])
    assert args.mirror == ["/a", "http://b/", "/c"]


def _job(second, rule, jobid, threads=1, kind="rule"):
    lines = [f"[Sat Dec  5 09:00:{second:02d} 2026]", f"{kind} {rule}:", "    input: x", f"    jobid: {jobid}"]
    return lines + ([f"    threads: {threads}"] if threads > 1 else []) + ["    resources: tmpdir=/tmp", ""]


def _finished(second, rule, jobid):
    return [f"[Sat Dec  5 09:00:{second:02d} 2026]", f"Finished jobid: {jobid} (Rule: {rule})", ""]


def test_the_benchmark_counts_idle_cores_from_snakemakes_log():
    from parallel_benchmark import occupancy

    # 2 cores: two train jobs 0-10 s and 0-16 s (a look's last one runs 6 s alone), a decision 16-18 s alone,
    # then the report on both cores 18-20 s
    log = "\n".join([*_job(0, "train", 1), *_job(0, "train", 2), *_finished(10, "train", 1),
                     *_finished(16, "train", 2), *_job(16, "decide", 3, kind="localcheckpoint"),
                     *_finished(18, "decide", 3), *_job(18, "report", 4, threads=2, kind="localrule"),
                     *_finished(20, "report", 4)])
    assert occupancy(log, 2) == {"span": 20, "jobs": 4, "idle_training": 6, "idle_other": 2}
    assert occupancy("", 2) == {"span": 0, "jobs": 0, "idle_training": 0, "idle_other": 0}


@pytest.mark.slow  # trains (no workflow): with the other slow tests, on every core
def test_the_training_benchmark_runs_to_its_end_and_prints_every_figure():
    result = _run(REPO / "bench" / "train_benchmark.py", "--steps", "20", "--threads", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    for figure in ("trainer img/s", "where the trainer's time went", "gradient statistics and moment map",
                   "signal propagation", "peak memory growth", "report of 3 runs"):
        assert figure in result.stdout, figure


@pytest.mark.e2e
def test_the_decide_benchmark_runs_the_looks_of_configs_decide_yaml_and_prints_its_ratio_and_where_it_stopped(
        tmp_path):
    # 20 steps and a 0.1-point margin decide nothing at 3 seeds: the second (last) look trains 5 of each
    result = _run(REPO / "bench" / "parallel_benchmark.py", "--only", "decide", "--steps", "20", "--activations",
                  "relu,selu", "--config", "max_seeds=5", "equivalence_margin=0.001", "--keep", str(tmp_path / "kept"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(10 training jobs)" in result.stdout  # 2 activations x 5 seeds
    ratio = next(line for line in result.stdout.splitlines() if "wall / (steps / cores)" in line)
    assert float(ratio.split()[5]) > 1 and "(target 1.3:" in ratio
    assert "FashionMNIST-sample/cnn/snn: 2 looks (3 -> 5 seeds), stopped at 5 seeds: relu-selu " in result.stdout \
        or "FashionMNIST-sample/cnn/snn: 2 looks (3 -> 5 seeds), stopped at 5 seeds: selu-relu " in result.stdout
    kept = tmp_path / "kept"  # the study's report, tables and decisions outlive the scratch copy
    assert (kept / "report.html").exists() and (kept / "tables" / "comparisons.csv").exists()
    assert "core-s while a train job ran" in result.stdout and (kept / "snakemake.log").exists()
    assert json.loads((kept / "decisions" / "FashionMNIST-sample" / "cnn" / "snn" / "look1.json").read_text())[
        "seeds"] == [0, 1, 2, 3, 4]


@pytest.mark.e2e
def test_the_halving_benchmark_runs_the_tune_study_as_a_grid_and_compares_it_with_halving():
    # one activation of configs/tune.yaml's three: its 4 rates are the whole sweep (the grid and halving alike)
    result = _run(REPO / "bench" / "parallel_benchmark.py", "--only", "halving", "--steps", "20", "--activations",
                  "relu")
    assert result.returncode == 0, result.stderr[-3000:]
    # the grid is the tune study: its ratio against the 1.3 target, and where the cores' time went
    assert "(6 training jobs)" in result.stdout  # 4 trials, 2 final runs at the seeds no trial is
    ratio = next(line for line in result.stdout.splitlines() if "wall / (steps / cores)" in line)
    assert float(ratio.split()[5]) > 1 and "(target 1.3:" in ratio
    table = result.stdout[:result.stdout.index("tune study with successive halving")]
    rows = [line.split() for line in table.splitlines()]  # the table's rows: rule, jobs, core-s, per job
    jobs = {row[0]: int(row[1]) for row in rows if row[:1] in (["train"], ["train_trial"], ["extract"])
            and row[1].isdigit()}
    assert jobs == {"train": 2, "train_trial": 4, "extract": 3}
    rows = {line[:24].strip(): line[24:].split() for line in result.stdout.splitlines()
            if line.startswith(("trials' steps trained", "all steps trained"))}
    # 4 rates: the grid trains 4 trials of 20 steps; halving 4 x 5, 2 x 5 more, 1 x 10 more
    assert rows["trials' steps trained"][:2] == ["80", "40"] and rows["trials' steps trained"][2] == "0.50"
    assert rows["all steps trained"][:2] == [str(80 + 2 * 20), str(40 + 2 * 20)]
    assert "targets: at most half the grid's trial steps (0.50: kept)" in result.stdout


@pytest.mark.e2e
def test_the_report_benchmark_renders_copied_runs_and_times_the_dag():
    result = _run(REPO / "bench" / "report_benchmark.py", "--runs", "16")
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["16"])
    assert row[:3] == ["16", "1", "1"] and float(row[3]) > 0 and float(row[5]) > 0 and float(row[7]) > 0
    assert "snakemake -n for 16 runs (35 jobs)" in result.stdout and "limits: all kept" in result.stdout
