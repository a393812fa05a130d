"""The Snakemake workflow: lint, config errors and paths (dry runs), and a tiny end-to-end run in a
copy of the project (e2e); tests that run Snakemake again do it in a copy of that copy."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACTIVATIONS, RECIPES, REPO, copy_finished_project, expected_tags, snakemake, tensorboard_tags

from actviz.model import LAYER_NAMES


def test_lint_is_clean():
    result = snakemake(REPO, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_a_bad_config_stops_snakemake_with_one_line_naming_the_key():
    # every kind of problem is checked in-process in test_config.py; this is the wiring
    result = snakemake(REPO, "-n", "--config", "steps=-5")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: config: steps: -5 is less than the minimum of 1"], result.stderr


def test_list_overrides_on_the_command_line_are_typed():
    result = snakemake(REPO, "-n", "--config", "seeds=[0,1]", "histogram_range=[-3.5,6]", "activations=[selu]")
    assert result.returncode == 0, result.stderr
    assert "--seed 1" in result.stdout and "--histogram-range -3.5 6" in result.stdout


def test_the_run_path_pattern_is_written_once_and_rules_refer_to_each_others_outputs():
    rules = {path.name: path.read_text() for path in (REPO / "rules").glob("*.smk")}
    assert sum(text.count("seed{seed}") for text in rules.values()) == 1
    assert 'RUN = "{dataset}/{architecture}/{recipe}/{activation}/seed{seed}"' in rules["common.smk"]
    assert 'TRIAL = os.path.join(os.path.dirname(RUN), "{trial}", os.path.basename(RUN))' in rules["common.smk"]
    assert "rules.train.output.metrics" in rules["extract.smk"] and "rules.train.params.checkpoints" in rules[
        "extract.smk"]
    result = snakemake(REPO, "-n", "--config", "seeds=[3]", "activations=[selu]", "recipes=[snn]")
    assert result.returncode == 0, result.stderr
    run = "FashionMNIST-sample/cnn/snn/selu/seed3"
    for path in (f"results/runs/{run}/metrics.json", f"--checkpoint-dir results/checkpoints/{run} ",
                 f"--log-dir results/logs/{run} ", f"results/activations/{run}.h5", f"results/joblogs/train/{run}.log",
                 "--html results/report.html", "--numbers-json results/tables/report.json"):
        assert path in result.stdout, path


def _metrics(project, recipe, activation, dataset="FashionMNIST-sample", architecture="cnn"):
    return json.loads((project / "results" / "runs" / dataset / architecture / recipe / activation / "seed0" /
                       "metrics.json").read_text())


@pytest.mark.e2e
def test_report_compares_every_recipe_and_activation_on_every_layer(project):
    html = (project / "results" / "report.html").read_text()
    with open(project / "results" / "tables" / "accuracy.csv") as f:
        rows = {(r["recipe"], r["activation"]): r for r in csv.DictReader(f)}
    assert list(rows) == [(r, a) for r in RECIPES for a in ACTIVATIONS]
    for recipe in RECIPES:
        for activation in ACTIVATIONS:
            metrics = _metrics(project, recipe, activation)
            assert metrics["final_step"] == 20 and metrics["test_size"] == 2000
            assert float(rows[recipe, activation]["test_accuracy_mean"]) == pytest.approx(metrics["test_accuracy"])
            assert f"{metrics['test_accuracy']:.4f}" in html
    # learning curves and the phase diagram; per setup per-class, depth, gradients, signal, reliability and CKA maps
    # (one seed: no accuracy-against-churn picture), and two per layer
    assert html.count('src="data:image/png;base64,') == 2 + len(RECIPES) * (6 + 2 * len(LAYER_NAMES))
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "sha256:71d22c9f843234e39b3f4ae0339b36a27224affaa2f34539fb51d06482c2ae36" in html
    summary = json.loads((project / "results" / "tables" / "report.json").read_text())["summary"]
    verdicts = [s.split(":")[0] for s in summary["FashionMNIST-sample"][:2]]
    assert verdicts == [f"cnn/{r}" for r in RECIPES]  # a verdict per setup
    with open(project / "results" / "tables" / "comparisons.csv") as f:
        pairs = [(r["recipe"], r["axis"], r["method"]) for r in csv.DictReader(f)]
    methods = {"accuracy": "exact McNemar, 2000 test images",  # 3 pairs an axis; one seed compares accuracy only
               "churn": "not compared: churn needs two seeds of each", "calibration": "not compared: one seed"}
    assert pairs == [(r, axis, method) for r in RECIPES for axis, method in methods.items() for _ in range(3)]
    with open(project / "results" / "tables" / "per_class.csv") as f:
        assert len(list(csv.DictReader(f))) == len(RECIPES) * len(ACTIVATIONS) * 10


@pytest.mark.e2e
def test_selu_statistics_under_snn_are_recorded_at_init_and_after_training(project):
    with open(project / "results" / "runs" / "FashionMNIST-sample" / "cnn" / "snn" / "selu" / "seed0" /
              "training_stats.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted({int(r["step"]) for r in rows}) == [0, 10, 20]
    assert {r["layer"] for r in rows} == set(LAYER_NAMES)
    numbers = json.loads((project / "results" / "tables" / "report.json").read_text())
    profiles = numbers["depth_profiles"]["FashionMNIST-sample/cnn/snn"]
    wanted = {(a, w) for a in ACTIVATIONS for w in ("init", "trained")}
    assert {(p["activation"], p["when"]) for p in profiles} == wanted


@pytest.mark.e2e
def test_every_run_logs_scalars_histograms_and_tfplot_images_for_every_layer(project):
    runs = sorted((project / "results" / "logs").glob("*/*/*/*/seed*"))
    assert [r.relative_to(project / "results" / "logs").as_posix() for r in runs] == sorted(
        f"FashionMNIST-sample/cnn/{r}/{a}/seed0" for r in RECIPES for a in ACTIVATIONS)
    for run in runs:
        tags, _ = tensorboard_tags(run)
        for plugin, wanted in expected_tags(LAYER_NAMES).items():
            assert wanted <= tags.get(plugin, set()), (run, plugin)
        assert "hparams" in tags


@pytest.mark.e2e
def test_each_training_job_uses_exactly_the_threads_snakemake_gives_it(project):
    logs = sorted((project / "results" / "joblogs" / "train").glob("*/*/*/*/seed0.log"))
    assert len(logs) == len(RECIPES) * len(ACTIVATIONS)
    for log in logs:  # threads: 1 in rules/train.smk, for TensorFlow and OpenMP alike
        assert "CPU threads: 1 per op, 1 ops at once; OMP_NUM_THREADS=1" in log.read_text(), log


@pytest.mark.e2e
def test_every_heavy_job_leaves_its_wall_time_in_a_benchmark_file(project):
    from parallel_benchmark import job_seconds

    jobs = job_seconds(project / "results" / "benchmarks")
    runs = len(RECIPES) * len(ACTIVATIONS)
    assert {rule: len(seconds) for rule, seconds in jobs.items()} == {"convert": 1, "train": runs, "extract": runs,
                                                                     "report": 1}
    for seconds in jobs.values():
        assert all(0 < s < 600 for s in seconds), jobs
    loops = [_metrics(project, r, a)["train_seconds"] for r in RECIPES for a in ACTIVATIONS]
    assert min(jobs["train"]) > min(loops)  # a job holds its training loop and more (start-up, set-up)


@pytest.mark.e2e
def test_extracted_activations_use_the_same_probe_images(project):
    import h5py
    import numpy as np

    probes = []
    for path in sorted((project / "results" / "activations" / "FashionMNIST-sample").glob("*/*/*/seed0.h5")):
        with h5py.File(path) as f:
            probes.append(f["probe/images"][:])
            assert set(f["activations"]) == set(LAYER_NAMES) and len(f["activations/conv1"]) == 40
    assert len(probes) == len(RECIPES) * len(ACTIVATIONS)
    assert all(np.array_equal(probes[0], p) for p in probes[1:])


@pytest.mark.e2e
def test_snakemake_builds_its_own_report_with_the_marked_outputs(project, tmp_path):
    import zipfile

    project = copy_finished_project(project, tmp_path / "project")
    result = snakemake(project, "--report", "results/snakemake-report.zip", "--configfile", "tiny.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    with zipfile.ZipFile(project / "results" / "snakemake-report.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    # Snakemake's own index page, and each marked output carried in it unchanged (data/raw/<hash>/<file name>)
    assert "snakemake-report/report.html" in members, sorted(members)
    for output in ("report.html", "tables/accuracy.csv", "tables/comparisons.csv", "tables/per_class.csv",
                   "tables/layer_stats.csv", "tables/training_stats.csv", "tables/learning_curves.csv"):
        copies = [data for name, data in members.items()
                  if name.startswith("snakemake-report/data/raw/") and name.endswith("/" + output.split("/")[-1])]
        assert (project / "results" / output).read_bytes() in copies, (output, sorted(members))


@pytest.mark.e2e
def test_the_run_ends_with_the_reports_path_and_its_verdicts(project):
    verdicts = json.loads((project / "results" / "tables" / "report.json").read_text())["verdicts"]
    lines = [line.strip() for line in (project / "snakemake.stdout").read_text().splitlines()]
    start = lines.index("The report: results/report.html  (open it in a browser)")
    assert lines[start + 1].startswith("Training in TensorBoard: make tensorboard")
    # one verdict a setup, and one sentence for the setting they all share (no sweep)
    assert lines[start + 2] == "FashionMNIST-sample:" and len(verdicts["FashionMNIST-sample"]) == len(RECIPES) + 1
    assert verdicts["FashionMNIST-sample"][-1].startswith("cnn/snn, cnn/seed: every activation at one shared setting")
    assert " ".join(lines[start + 3:]) == " ".join(verdicts["FashionMNIST-sample"])  # the last lines: the verdicts


@pytest.mark.e2e
def test_job_logs_open_with_the_jobs_own_lines(project):
    logs = sorted((project / "results" / "joblogs").glob("t*/**/*.log")) + sorted(
        (project / "results" / "joblogs").glob("extract/**/*.log"))
    assert len(logs) == 2 * len(RECIPES) * len(ACTIVATIONS)
    for log in logs:  # none of TensorFlow's CPU start-up lines; training's first line names the devices
        text = log.read_text()
        assert "absl::InitializeLog" not in text and "cuInit" not in text and "oneDNN" not in text, log
        if "/train/" in log.as_posix():
            assert re.match(r"FashionMNIST-sample/cnn/\w+/\w+/seed0: TensorFlow [\d.]+ on CPU:0;", text), text[:300]


@pytest.mark.e2e
def test_a_run_that_diverges_gives_a_report_that_says_so_and_where(project, tmp_path):
    # the new user's learning rate: every run of the study diverges, and the report still comes
    project = copy_finished_project(project, tmp_path / "project")
    result = snakemake(project, "--cores", "2", "report", "--configfile", "tiny.yaml",
                       "--config", "learning_rate=100000", "activations=[relu]", "recipes=[snn]")
    assert result.returncode == 0, result.stderr[-5000:]
    step = _metrics(project, "snn", "relu")["diverged_at_step"]
    assert step is not None and 1 <= step <= 20
    summary = json.loads((project / "results" / "tables" / "report.json").read_text())["summary"]
    assert f"cnn/snn: every run diverged, relu (seed 0 at step {step}): nothing to compare." in \
        summary["FashionMNIST-sample"]
    assert f"diverged at step {step}" in (project / "results" / "report.html").read_text()
    assert f"relu (seed 0 at step {step})" in result.stdout  # and the terminal ends saying so


@pytest.mark.e2e
def test_a_failed_job_ends_the_run_with_its_reason_and_log(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    broken = next((project / "results" / "runs").glob("*/*/snn/relu/seed0/training_stats.csv"))
    broken.write_text("")  # the report refuses an empty table, with one line
    result = snakemake(project, "--cores", "2", "report", "--configfile", "tiny.yaml", "--forcerun", "report")
    assert result.returncode != 0
    tail = result.stderr[result.stderr.rindex("1 job failed:"):].splitlines()
    assert tail[1] == f"  report: error: {broken.relative_to(project)}: empty"
    assert tail[2] == "    log: results/joblogs/report.log"


def _job_counts(output):
    """{rule: jobs} of Snakemake's "Job stats" table (empty when there is nothing to do)."""
    if "Job stats:" not in output:
        return {}
    table = output[output.index("Job stats:"):].split("\n\n")[0].splitlines()[3:]
    return {rule: int(count) for rule, count in (line.split() for line in table) if rule != "total"}


@pytest.mark.e2e
def test_a_sweep_trains_its_trials_selects_on_validation_and_trains_only_what_no_trial_is(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    sweep = ("--configfile", "tiny.yaml", "--config", "sweep={learning_rate: [100000, 0.003]}", "activations=[relu]",
             "recipes=[snn]", "seeds=[0,1]")  # the first rate diverges, the second learns
    before = snakemake(project, "-n", "report", *sweep)
    assert before.returncode == 0, before.stderr[-3000:]
    # before the trials: the trials and the selection; seed 0's final run is the selected trial, not a training
    assert _job_counts(before.stdout) == {"train_trial": 2, "select": 1, "train": 1, "extract": 2, "report": 1}
    result = snakemake(project, "--cores", "2", "report", *sweep)
    assert result.returncode == 0, result.stderr[-5000:]
    results = project / "results"
    trials = {path.parents[2].name: json.loads(path.read_text())
              for path in (results / "trials").glob("FashionMNIST-sample/cnn/snn/relu/*/seed0/steps20/metrics.json")}
    assert trials["learning_rate=100000.0"]["diverged_at_step"] is not None
    best = max((m["validation_accuracy"], name) for name, m in trials.items() if m["diverged_at_step"] is None)[1]
    selection = json.loads((results / "selection" / "FashionMNIST-sample" / "cnn" / "snn" / "relu" /
                            "steps20.json").read_text())
    assert selection["trial"] == best == "learning_rate=0.003"  # the argmax, recomputed from the trials
    assert _metrics(project, "snn", "relu")["settings"]["learning_rate"] == 0.001  # seed 0 of before: not the final
    seed1 = json.loads((results / "runs" / "FashionMNIST-sample" / "cnn" / "snn" / "relu" / "seed1" /
                        "metrics.json").read_text())
    assert seed1["settings"]["learning_rate"] == 0.003 and seed1["trial"] is None  # trained at the selected rate
    compared = {r["seed"]: r["test_accuracy"] for r in json.loads((results / "tables" / "report.json").read_text())[
        "runs"]}
    assert compared == {0: trials[best]["test_accuracy"], 1: seed1["test_accuracy"]}  # seed 0 is the trial
    with open(results / "tables" / "trials.csv") as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(trials) and rows[best]["selected"] == "True" and rows[best]["learning_rate"] == "0.003"
    assert rows["learning_rate=100000.0"]["diverged_at_step"] != "" and rows["learning_rate=100000.0"]["selected"] == \
        "False"
    with open(results / "tables" / "selected.csv") as f:
        selected = [(r["activation"], r["learning_rate"], r["trials"]) for r in csv.DictReader(f)]
    assert selected == [("relu", "0.003", "2")]
    assert "validation accuracy against the swept settings" in (results / "report.html").read_text()
    summary = json.loads((results / "tables" / "report.json").read_text())["summary"]["FashionMNIST-sample"]
    assert "cnn/snn: each activation at its own selected setting, chosen on 1,000 validation images (held out of the " \
           "train split; never the test split) among 2 trials: relu learning_rate=0.003." in summary
    after = snakemake(project, "-n", "report", *sweep)
    assert after.returncode == 0 and _job_counts(after.stdout) == {}, after.stdout[-3000:]


@pytest.mark.e2e
def test_successive_halving_extends_the_better_half_and_selects_among_those_that_reached_the_last_rung(project,
                                                                                                      tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    # seeds = sweep_seeds: every final run is a selected trial, and nothing trains after the selection
    sweep = ("--configfile", "tiny.yaml", "--config", "sweep={learning_rate: [100000, 0.003, 0.001, 0.0001]}",
             "sweep_rungs=[10,20]", "activations=[relu]", "recipes=[snn]", "seeds=[0]")
    before = snakemake(project, "-n", "report", *sweep)
    assert before.returncode == 0, before.stderr[-3000:]
    # before the first rung: its 4 trials; the rungs' selections and what follows them are to be determined
    assert _job_counts(before.stdout) == {"train_trial": 4, "select": 2, "extract": 1, "report": 1}
    result = snakemake(project, "--cores", "2", "report", *sweep)
    assert result.returncode == 0, result.stderr[-5000:]
    results = project / "results"
    relu = results / "trials" / "FashionMNIST-sample" / "cnn" / "snn" / "relu"
    at10 = {p.parents[2].name: json.loads(p.read_text()) for p in relu.glob("*/seed0/steps10/metrics.json")}
    at20 = {p.parents[2].name: json.loads(p.read_text()) for p in relu.glob("*/seed0/steps20/metrics.json")}
    assert len(at10) == 4 and at10["learning_rate=100000.0"]["diverged_at_step"] is not None
    finite = sorted((-m["validation_accuracy"], name) for name, m in at10.items() if m["diverged_at_step"] is None)
    assert set(at20) == {name for _, name in finite[:2]}  # the better half, recomputed from the first rung's files
    for metrics in at20.values():  # extended from the first rung's checkpoint, not trained again
        assert metrics["resumed_from_step"] == 10 and metrics["final_step"] == 20
        assert metrics["test_accuracy"] is not None  # the last rung: the test split evaluated once
    # the first rung, extended later, evaluated no test split: only the validation images it is selected on
    assert all(m["test_accuracy"] is None and m["final_evaluation"] is None and m["validation_accuracy"] is not None
               for name, m in at10.items() if m["diverged_at_step"] is None)
    selection = json.loads((results / "selection" / "FashionMNIST-sample" / "cnn" / "snn" / "relu" /
                            "steps20.json").read_text())
    best = max((m["validation_accuracy"], name) for name, m in at20.items())[1]
    assert selection["trial"] == best and [r["steps"] for r in selection["rungs"]] == [10, 20]
    with open(results / "tables" / "trials.csv") as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert {name: int(r["steps"]) for name, r in rows.items() if r["diverged_at_step"] == ""} == {
        name: 20 if name in at20 else 10 for name in at10 if name != "learning_rate=100000.0"}
    assert [name for name, r in rows.items() if r["selected"] == "True"] == [best]
    compared = {r["seed"]: r["test_accuracy"] for r in json.loads((results / "tables" / "report.json").read_text())[
        "runs"]}
    assert compared == {0: at20[best]["test_accuracy"]}  # the final run is the selected trial at the last rung
    html = (results / "report.html").read_text()
    assert "successive halving" in html and "(10, 20 steps)" in html
    after = snakemake(project, "-n", "report", *sweep)
    assert after.returncode == 0 and _job_counts(after.stdout) == {}, after.stdout[-3000:]


@pytest.mark.e2e
def test_seeds_until_decided_trains_the_next_look_while_a_pair_is_undecided_and_the_report_agrees(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    # three seeds at 20 steps with a 0.1-point margin, looks 3 -> 4: the first look leaves the pair undecided (its
    # boundary at a fraction of 3/4 needs a t of 7 on 2 degrees of freedom), so the second trains seed 3 for both
    # activations, and stops there (the last look)
    looks = ("--configfile", "tiny.yaml", "--config", "activations=[relu,selu]", "recipes=[snn]", "seeds=[0,1,2]",
             "max_seeds=4", "equivalence_margin=0.001")
    before = snakemake(project, "-n", "report", *looks)
    assert before.returncode == 0, before.stderr[-3000:]
    # seeds 1 and 2 train; both looks' decisions are checkpoints; seed 3 is to be determined by the first
    assert _job_counts(before.stdout) == {"train": 4, "extract": 4, "decide": 2, "report": 1}
    first_look = snakemake(project, "--cores", "2", "results/decisions/FashionMNIST-sample/cnn/snn/look0.json", *looks)
    assert first_look.returncode == 0, first_look.stderr[-3000:]
    # once the first look decided to go on, the report names seed 3's runs at once, before the next decision: their
    # extraction is planned, to fill the cores while a look's last runs train
    planned = snakemake(project, "-n", "report", *looks)
    assert _job_counts(planned.stdout) == {"train": 2, "extract": 6, "decide": 1, "report": 1}, planned.stdout[-3000:]
    result = snakemake(project, "--cores", "2", "report", *looks)
    assert result.returncode == 0, result.stderr[-5000:]
    decisions = project / "results" / "decisions" / "FashionMNIST-sample" / "cnn" / "snn"
    first, last = (json.loads((decisions / f"look{k}.json").read_text()) for k in (0, 1))
    assert first["seeds"] == [0, 1, 2] and not first["stopped"] and first["next_seeds"] == [0, 1, 2, 3]
    assert first["pairs"][0]["decision"] == "undecided" and first["pairs"][0]["decided_at_look"] is None
    assert last["seeds"] == [0, 1, 2, 3] and last["stopped"] and last["looks"] == 2
    numbers = json.loads((project / "results" / "tables" / "report.json").read_text())
    assert sorted({r["seed"] for r in numbers["runs"]}) == [0, 1, 2, 3]  # the look's seed is compared
    comparison = numbers["comparisons"][0]
    assert comparison["seeds"] == [0, 1, 2, 3] and comparison["method"] in (
        "paired t over 4 seeds, look 2 of 2", "paired t over 4 seeds, decided at look 2 of 2")
    # the decision file and the report decide alike (one code path: accuracy_tables.comparison_rows)
    assert (comparison["decision"], comparison["p_value"]) == (last["pairs"][0]["decision"],
                                                               pytest.approx(last["pairs"][0]["p_value"]))
    table = numbers["verdict_tables"]["FashionMNIST-sample"][0]
    assert "look" in table["seeds"] and table["unit"] == "the activations (paired over seeds)"
    after = snakemake(project, "-n", "report", *looks)
    assert after.returncode == 0 and _job_counts(after.stdout) == {}, after.stdout[-3000:]


@pytest.mark.e2e
def test_configs_agree_yaml_decides_on_accuracy_churn_and_calibration_and_reports_agreement_and_cka(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    # configs/agree.yaml, short (tiny.yaml's 20 steps), two of its activations, looks 4 -> 6 seeds: churn's disjoint
    # seed pairs are 2 at the first look, too few to test with looks, so the study trains seeds 4 and 5
    agree = ("--configfile", "configs/agree.yaml", "tiny.yaml", "--config", "activations=[relu,smelu]",
             "recipes=[snn]", "seeds=[0,1,2,3]", "max_seeds=6")
    result = snakemake(project, "--cores", "2", "report", *agree)
    assert result.returncode == 0, result.stderr[-5000:]
    decisions = project / "results" / "decisions" / "FashionMNIST-sample" / "cnn" / "snn"
    first = json.loads((decisions / "look0.json").read_text())
    assert first["decide_on"] == ["accuracy", "churn", "calibration"]
    assert {p["axis"] for p in first["pairs"]} == {"accuracy", "churn", "calibration"}
    churn = next(p for p in first["pairs"] if p["axis"] == "churn")
    assert churn["method"].startswith("not tested: 2 seed pairs") and not first["stopped"]
    runs = project / "results" / "runs" / "FashionMNIST-sample" / "cnn" / "snn"
    assert all((runs / a / f"seed{s}" / "predictions.h5").exists() for a in ("relu", "smelu") for s in range(6))
    tables = project / "results" / "tables"
    with open(tables / "comparisons.csv") as f:
        assert {r["axis"] for r in csv.DictReader(f)} == {"accuracy", "churn", "calibration"}
    with open(tables / "agreement.csv") as f:
        rows = {r["activation"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"relu", "smelu"} and rows["relu"]["seed_pairs"] == "15"  # every two of 6 seeds
    with open(tables / "similarity_pairs.csv") as f:
        assert [r["layer"] for r in csv.DictReader(f)] == ["conv1", "conv2", "conv3", "dense1", "dense2", "logits"]
    numbers = json.loads((tables / "report.json").read_text())
    assert numbers["similarity"]["self_tests"][0]["self"] == pytest.approx(1.0)
    html = (project / "results" / "report.html").read_text()
    assert "Do two trainings agree? cnn/snn" in html and "Do the layers compute the same thing? cnn/snn" in html
    after = snakemake(project, "-n", "report", *agree)
    assert after.returncode == 0 and _job_counts(after.stdout) == {}, after.stdout[-3000:]


@pytest.mark.e2e
def test_a_crossed_seed_design_trains_every_seed_with_every_batch_order_and_the_report_splits_the_spread(project,
                                                                                                        tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    crossed = ("--configfile", "tiny.yaml", "--config", "activations=[relu,selu]", "recipes=[snn]", "seeds=[0,1]",
               "seed_design=crossed")
    before = snakemake(project, "-n", "report", *crossed)
    assert before.returncode == 0, before.stderr[-3000:]
    # seed 1 trains and is extracted; the two cells off the diagonal train for each activation, nothing extracted
    assert _job_counts(before.stdout) == {"train": 2, "train_crossed": 4, "extract": 2, "report": 1}
    result = snakemake(project, "--cores", "2", "report", *crossed)
    assert result.returncode == 0, result.stderr[-5000:]
    runs = project / "results" / "runs" / "FashionMNIST-sample" / "cnn" / "snn" / "relu"
    cell = json.loads((runs / "seed0-order1" / "metrics.json").read_text())
    assert (cell["seed"], cell["settings"]["order_seed"], cell["run"]) == (
        0, 1, "FashionMNIST-sample/cnn/snn/relu/seed0-order1")
    assert (project / "results" / "logs" / "FashionMNIST-sample" / "cnn" / "snn" / "relu" / "seed1-order0").is_dir()
    with open(project / "results" / "tables" / "spread.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["activation"], r["seeds"], r["cells"]) for r in rows] == [("relu", "0;1", "4"),
                                                                          ("selu", "0;1", "4")]
    for row in rows:
        assert sum(float(row[f"share_{s}"]) for s in ("initialisation", "batch_order", "interaction", "image_noise",
                                                      "another_test_draw")) == pytest.approx(1)
    numbers = json.loads((project / "results" / "tables" / "report.json").read_text())
    # the verdicts compare the joint runs (the diagonal) alone
    assert sorted({(r["seed"], r["activation"]) for r in numbers["runs"]}) == [(0, "relu"), (0, "selu"), (1, "relu"),
                                                                                (1, "selu")]
    assert numbers["comparisons"][0]["seeds"] == [0, 1]
    assert "Where the spread comes from" in (project / "results" / "report.html").read_text()
    # churn by what two runs share: of the 4 cells (seed, order), 2 pairs share the initialisation, 2 the order
    with open(project / "results" / "tables" / "churn_sources.csv") as f:
        sources = [(r["activation"], r["shared"], r["pairs"]) for r in csv.DictReader(f)]
    assert sources == [(a, kind, "2") for a in ("relu", "selu")
                       for kind in ("same initialisation", "same batch order", "neither")]
    after = snakemake(project, "-n", "report", *crossed)
    assert after.returncode == 0 and _job_counts(after.stdout) == {}, after.stdout[-3000:]


@pytest.mark.e2e
def test_a_report_missing_one_of_its_tables_is_made_again(project, tmp_path):
    # as after an upgrade that adds a table: Snakemake checks only the outputs something depends on
    project = copy_finished_project(project, tmp_path / "project")
    (project / "results" / "tables" / "signal.csv").unlink()
    result = snakemake(project, "-n", "--configfile", "tiny.yaml")
    assert result.returncode == 0 and _job_counts(result.stdout) == {"report": 1, "all": 1}, result.stdout[-3000:]


@pytest.mark.e2e
def test_a_longer_rerun_resumes_training_from_the_checkpoint(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    result = snakemake(project, "--cores", "2", "report", "--configfile", "tiny.yaml",
                       "--config", "steps=30", "activations=[selu]", "recipes=[snn]")
    assert result.returncode == 0, result.stderr[-5000:]
    metrics = _metrics(project, "snn", "selu")
    assert metrics["resumed_from_step"] == 20 and metrics["final_step"] == 30
    with open(project / "results" / "tables" / "accuracy.csv") as f:
        assert [r["steps"] for r in csv.DictReader(f)] == ["30"]


@pytest.mark.e2e
def test_a_real_tensorboard_serves_the_runs_and_their_tfplot_images(project):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tensorboard = Path(sys.executable).parent / "tensorboard"
    process = subprocess.Popen([str(tensorboard), "--logdir", "results/logs", "--host", "127.0.0.1",
                                "--port", str(port)], cwd=project, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/images/tags", timeout=5) as r:
                    images = json.load(r)
                if len(images) == len(RECIPES) * len(ACTIVATIONS):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "TensorBoard did not serve the runs in time"
            time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/histograms/tags", timeout=5) as r:
            histograms = json.load(r)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/data/plugin/hparams/experiment",
                                         data=b'{"experimentName": ""}', headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            experiment = json.load(r)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert {"recipe", "activation", "seed", "learning_rate"} <= {h["name"] for h in experiment["hparamInfos"]}
    assert {"final/test_accuracy", "accuracy/validation"} <= {m["name"]["tag"] for m in experiment["metricInfos"]}
    for run in (f"FashionMNIST-sample/cnn/{r}/{a}/seed0" for r in RECIPES for a in ACTIVATIONS):
        assert {f"activation_grid/{layer}" for layer in LAYER_NAMES} <= set(images[run])
        assert {f"activations/{layer}" for layer in LAYER_NAMES} <= set(histograms[run])


@pytest.mark.e2e
def test_own_datasets_in_both_layouts_train_through_the_normal_rules(project, tmp_path):
    import numpy as np
    from helpers import write_legacy_layout

    from actviz.formats import write_dataset_h5

    project = copy_finished_project(project, tmp_path / "project")
    rng = np.random.default_rng(0)
    write_legacy_layout(project / "datasets" / "legacy_own", rng.integers(0, 256, (80, 12, 12, 1), dtype=np.uint8),
                        np.arange(80) % 3, 3)
    (project / "datasets" / "h5_own").mkdir()
    write_dataset_h5(project / "datasets" / "h5_own" / "data.h5",
                     {s: (rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8), np.arange(n) % 4)
                      for s, n in (("train", 64), ("test", 16))}, {"classes": ["a", "b", "c", "d"]})
    result = snakemake(project, "--cores", "2", "report", "--configfile", "tiny.yaml", "--config",
                       "datasets=[legacy_own,h5_own]", "activations=[selu]", "recipes=[snn]", "probe_images=10")
    assert result.returncode == 0, result.stderr[-5000:]
    for dataset, test_size in (("legacy_own", 16), ("h5_own", 16)):
        metrics = _metrics(project, "snn", "selu", dataset)
        assert metrics["test_size"] == test_size and metrics["final_step"] == 20
    html = (project / "results" / "report.html").read_text()
    assert re.findall(r'<h2 id="dataset-\d+">(\w+)</h2>', html) == ["legacy_own", "h5_own"]


@pytest.mark.e2e
def test_a_16_layer_mlp_runs_through_the_workflow_and_its_report_shows_every_layer(project, tmp_path):
    project = copy_finished_project(project, tmp_path / "project")
    result = snakemake(project, "--cores", "2", "report", "--configfile", "tiny.yaml", "--config",
                       "architectures=[mlp16]", "activations=[selu,relu]", "recipes=[snn]")
    assert result.returncode == 0, result.stderr[-5000:]
    html = (project / "results" / "report.html").read_text()
    layers = [f"dense{i}" for i in range(1, 17)] + ["logits"]
    assert re.findall(r"<h4>mlp16/snn · (\w+)</h4>", html) == layers
    folded = re.findall(r"<summary>mlp16/snn · (\w+): histograms", html)
    assert folded == [layer for layer in layers if layer not in ("dense1", "dense9", "dense16", "logits")]
    assert "gradients against depth" in html and "The moment map, one step from the measured layer below (mlp16/snn" \
        in html
    assert _metrics(project, "snn", "selu", architecture="mlp16")["run"] == "FashionMNIST-sample/mlp16/snn/selu/seed0"
