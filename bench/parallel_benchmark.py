#!/usr/bin/env python3
"""Parallel training jobs against the same jobs one after another, through Snakemake.

Trains the default config's three activations (snn recipe, the embedded Fashion-MNIST sample,
--steps each) in a scratch copy of the workflow, three ways, and prints the wall time of each:

  parallel      snakemake --cores N            (train jobs take 1 thread: N run at once)
  one by one    snakemake --cores N --set-threads train=N   (each job gets every core)
  single core   snakemake --cores 1            (for reference)

The dataset is converted once beforehand, so only the training jobs are timed.

Then the default run (`snakemake --cores N report`, what `make report` runs: 2 recipes x 3 activations,
every job from the conversion to the report; --steps a run) from scratch: its wall time against the
training steps' own time (each run's metrics.json) divided by the cores, and where the cores' time went:
each rule's jobs (Snakemake's benchmark files), the cores left idle (Snakemake's log: while a look's or a rung's
last train jobs ran, or while none did) and TensorFlow's start-up, which every train and extract job pays.

`--only tune` measures configs/tune.yaml the same way instead (a sweep: 12 trials, 3 selections, the final
runs at the seeds no trial was trained on, their extraction, the report), against its target of 1.3x.

`--only decide` measures configs/decide.yaml the same way (seeds until decided: looks of seeds, a decision after
each, the seeds the next look adds, their extraction, the report), against its target of 1.3x at realistic lengths
(2,400 steps); `--config` adds overrides (e.g. seed_design=crossed).

`--only halving` runs configs/tune.yaml twice from scratch, as a grid and with successive halving
(sweep_rungs: a quarter, half and all of --steps), and compares the training steps each trained, their
wall times and what each selected (the target: at most half the grid's steps, the same settings).

    python bench/parallel_benchmark.py [--cores 2] [--steps 800] [--only training|default|tune|decide|halving]
        [--activations relu,lrelu] [--config KEY=VALUE ...] [--keep DIR]
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actviz.errors import UserError, run_cli
from actviz.sweeps import margin

REPO = Path(__file__).resolve().parent.parent
ACTIVATIONS = ("relu", "lrelu", "selu")


def snakemake(workdir, *args):
    """Run Snakemake with this Python in ``workdir``: (wall seconds, its standard output); a failure
    stops the benchmark with Snakemake's error."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise UserError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start, result.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores Snakemake may use")
    parser.add_argument("--steps", type=int, default=800, help="training steps per run (both parts)")
    parser.add_argument("--activations", help="the tune, decide and halving studies' activations, e.g. relu,selu "
                                              "(default: the config file's)")
    parser.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE",
                        help="more config values for the tune and decide studies, as Snakemake's --config takes them")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="copy the studies' report and tables (results/report.html, results/tables/, "
                             "results/decisions/) and Snakemake's log (snakemake.log) into DIR before the scratch "
                             "copy is removed")
    parser.add_argument("--only", choices=["training", "default", "tune", "decide", "halving"],
                        help="run one part (tune: configs/tune.yaml's sweep, trials and final runs; decide: "
                             "configs/decide.yaml's looks; halving: tune.yaml as a grid against successive halving; "
                             "none of these three runs otherwise)")
    args = parser.parse_args(argv)
    if args.only in (None, "training"):
        training_jobs(args)
    if args.only in (None, "default"):
        whole_run(args, "default run", [])
    if args.only == "tune":
        whole_run(args, "tune study (configs/tune.yaml: trials, selections, final runs)",
                  ["--configfile", "configs/tune.yaml"], [*_activations(args), *args.config], target=1.3)
    if args.only == "decide":
        whole_run(args, "seeds until decided (configs/decide.yaml: looks, decisions, the seeds they add)",
                  ["--configfile", "configs/decide.yaml"], [*_activations(args), *args.config], target=1.3)
    if args.only == "halving":
        halving(args)


def halving(args):
    """configs/tune.yaml as a grid and with successive halving: steps trained, wall time, selections."""
    rungs = [args.steps // 4, args.steps // 2, args.steps]
    # the grid is the tune study itself: its ratio against the target too
    grid = whole_run(args, "tune study as a grid", ["--configfile", "configs/tune.yaml"], _activations(args),
                     target=1.3)
    halved = whole_run(args, f"tune study with successive halving (sweep_rungs={rungs})",
                       ["--configfile", "configs/tune.yaml"],
                       [*_activations(args), f"sweep_rungs=[{','.join(map(str, rungs))}]"])
    print(f"\n{'':<24} {'grid':>10} {'halving':>10} {'halving/grid':>13}")
    for name, key, unit in (("trials' steps trained", "trial_steps", ""), ("all steps trained", "trained", ""),
                            ("training steps' time", "steps_seconds", " s"), ("wall time", "wall", " s")):
        print(f"{name:<24} {grid[key]:>10.0f}{unit:2} {halved[key]:>8.0f}{unit:2} {halved[key] / grid[key]:>11.2f}")
    same = grid["selected"] == halved["selected"]
    print(f"\nselected (grid):    {grid['selected']}\nselected (halving): {halved['selected']}")
    share = halved["trial_steps"] / grid["trial_steps"]
    print(f"targets: at most half the grid's trial steps ({share:.2f}: {'kept' if share <= 0.5 else 'not kept'}), "
          f"the same settings ({'kept' if same else 'not kept'})")
    for activation, chosen in halved["selected"].items():
        picked = grid["selected"].get(activation)
        if chosen and picked and chosen != picked:  # how far apart the two choices were in the grid, at full length
            found = margin([picked, chosen], grid["selections"][activation]["results"])
            print(f"  {activation}: halving's {chosen} against the grid's {picked}, both at {args.steps} steps in the "
                  f"grid: {100 * found['difference']:+.1f} points for the grid's (95% CI {100 * found['ci_low']:+.1f} "
                  f"to {100 * found['ci_high']:+.1f}, {found['method']}, p = {found['p_value']:.2g})")


def _activations(args):
    return [f"activations=[{args.activations}]"] if args.activations else []


def copy_project(folder):
    """Copy the project into ``folder`` as git sees it: without what .gitignore names (the
    virtualenv, results, Snakemake's state). The benchmarks' and the tests' scratch workflows."""
    ignored = [line.strip().strip("/") for line in (REPO / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(".git", *ignored), dirs_exist_ok=True)


def whole_run(args, name, config, overrides=(), target=None):
    """A config's whole workflow from scratch on ``args.cores`` cores (``--steps`` a run; ``config``: Snakemake's
    arguments naming it; ``overrides``: more --config values): the wall time against the training steps' own time
    (final runs and a sweep's trials) divided by the cores, and where the cores' time went; ``target``: the ratio
    it should stay within. Returns the figures compared by ``halving``."""
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        copy_project(workdir)
        wall, _ = snakemake(workdir, "--cores", str(args.cores), "report", *config, "--config", f"steps={args.steps}",
                            *overrides)
        finals = [json.loads(p.read_text())
                  for p in sorted((workdir / "results" / "runs").glob("*/*/*/*/*/metrics.json"))]
        trials = [json.loads(p.read_text()) for p in sorted(
            (workdir / "results" / "trials").glob("*/*/*/*/*/*/steps*/metrics.json"))]  # every rung a job
        runs = finals + trials
        selections = {s["activation"]: s for s in map(json.loads, map(Path.read_text, sorted(
            (workdir / "results" / "selection").glob(f"*/*/*/*/steps{args.steps}.json"))))}
        jobs = job_seconds(workdir / "results" / "benchmarks")
        looks = _looks(workdir / "results" / "decisions")
        log = max((workdir / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
        occupied = occupancy(log.read_text(), args.cores)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy2(log, args.keep / "snakemake.log")
            for part in ("report.html", "tables", "decisions"):
                source = workdir / "results" / part
                if source.is_dir():
                    shutil.copytree(source, args.keep / part, dirs_exist_ok=True)
                elif source.exists():
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, args.keep / part)
    steps = sum(m["seconds"]["train_steps"] for m in runs)
    loops = sum(m["train_seconds"] for m in runs)
    outside = sum(m["seconds"].get("setup", 0) + m["seconds"].get("initial_state", 0) for m in runs)
    threads = {"report": args.cores}  # every other rule's jobs take one thread
    print(f"\n{name}, snakemake --cores {args.cores} report {' '.join(config)} --config steps={args.steps} "
          f"{' '.join(overrides)}, from scratch ({len(runs)} training jobs):")
    print(f"  snakemake wall time                           {wall:7.1f} s")
    print(f"  training steps, all runs                      {steps:7.1f} s  -> / {args.cores} cores = "
          f"{steps / args.cores:.1f} s")
    ratio = wall / (steps / args.cores)
    print(f"  wall / (steps / cores)                        {ratio:7.2f}" +
          (f"   (target {target}: {'kept' if ratio <= target else 'not kept'})" if target else ""))
    print(f"\n  where the {args.cores} cores' {wall * args.cores:.1f} s went (results/benchmarks: each job's wall time,"
          f" times the threads it holds):")
    print(f"  {'rule':<11} {'jobs':>5} {'core-s':>8} {'per job':>8}")
    for rule, seconds in jobs.items():
        print(f"  {rule:<11} {len(seconds):>5} {sum(seconds) * threads.get(rule, 1):8.1f} "
              f"{sum(seconds) / len(seconds):8.1f}")
    held = sum(sum(seconds) * threads.get(rule, 1) for rule, seconds in jobs.items())
    print(f"  {'no job (Snakemake, download, idle)':<34} {wall * args.cores - held:7.1f}")
    print(f"  idle cores (Snakemake's log, to the second): {occupied['idle_training']:.0f} core-s while a train job "
          f"ran (a look's or a rung's last jobs), {occupied['idle_other']:.0f} while none did (start, decisions, end)")
    print(f"  train jobs: steps {steps:.1f}, set-up and step-0 state {outside:.1f} (TensorFlow's start "
          f"included), the rest of the loop {loops - steps:.1f}")
    start = tensorflow_start()
    processes = sum(len(jobs.get(rule, [])) for rule in ("train", "train_trial", "train_crossed", "extract"))
    print(f"  TensorFlow's start (python -c 'import tensorflow', median of 3): {start:.1f} s a process; "
          f"{processes} train and extract jobs: {start * processes:.1f} core-s")
    for setup, decisions in looks.items():
        last = decisions[-1]
        print(f"  {setup}: {len(decisions)} looks ({' -> '.join(str(len(d['seeds'])) for d in decisions)} seeds), "
              f"stopped at {len(last['seeds'])} seeds: " + "; ".join(
                  f"{p['activation_a']}-{p['activation_b']} {p['decision']}" for p in last["pairs"]))
    trained = [m["final_step"] - m["resumed_from_step"] for m in runs]
    return {"wall": wall, "steps_seconds": steps, "trained": sum(trained), "trial_steps": sum(trained[len(finals):]),
            "selected": {activation: s["trial"] for activation, s in selections.items()}, "selections": selections}


def _looks(folder):
    """{setup: the decisions of its looks that trained, in order} of a seeds-until-decided study (``folder``:
    results/decisions); a look after the study stopped repeats the decision before and is left out."""
    found = {}
    for path in sorted(folder.rglob("look*.json"), key=lambda p: (p.parent, int(p.stem[4:]))):
        decision = json.loads(path.read_text())
        setup = "/".join(path.parent.relative_to(folder).parts)
        if not found.get(setup) or found[setup][-1]["seeds"] != decision["seeds"]:
            found.setdefault(setup, []).append(decision)
    return found


def occupancy(log, cores):
    """How busy Snakemake kept ``cores`` cores, from its log's job lines (``[timestamp]``, then ``rule NAME:`` or
    ``localcheckpoint NAME:`` with its ``jobid`` and ``threads``, or ``Finished jobid: N``; to the second):
    {"span": seconds from the first job's start to the last one's end, "jobs": jobs seen start and finish,
    "idle_training": idle core-seconds while a train job ran, "idle_other": idle core-seconds while none did}."""
    stamp, started, spans, current = None, {}, [], None
    for line in log.splitlines():
        if match := re.fullmatch(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", line):
            stamp = datetime.datetime.strptime(match[1], "%a %b %d %H:%M:%S %Y").timestamp()
        elif match := re.fullmatch(r"(?:local)?(?:rule|checkpoint) (\w+):", line):
            current = [match[1], 1, stamp]
        elif current and (match := re.fullmatch(r"\s+threads: (\d+)", line)):
            current[1] = int(match[1])
        elif current and (match := re.fullmatch(r"\s+jobid: (\d+)", line)):
            started[int(match[1])] = current
        elif match := re.match(r"Finished jobid: (\d+)", line):
            rule, threads, begin = started.pop(int(match[1]))
            spans.append((rule, threads, begin, stamp))
    if not spans:
        return {"span": 0, "jobs": 0, "idle_training": 0, "idle_other": 0}
    first = min(begin for _, _, begin, _ in spans)
    seconds = int(max(end for _, _, _, end in spans) - first)
    busy, training = [0] * seconds, [False] * seconds
    for rule, threads, begin, end in spans:
        for second in range(int(begin - first), int(end - first)):
            busy[second] += threads
            training[second] |= rule.startswith("train")
    idle = [max(cores - b, 0) for b in busy]
    return {"span": seconds, "jobs": len(spans),
            "idle_training": sum(i for i, t in zip(idle, training) if t),
            "idle_other": sum(i for i, t in zip(idle, training) if not t)}


def job_seconds(folder):
    """{rule: [wall seconds of each job]} from Snakemake's benchmark files under ``folder``
    (``RULE/....tsv`` or ``RULE.tsv``)."""
    jobs = {}
    for path in sorted(folder.rglob("*.tsv")):
        rule = path.relative_to(folder).parts[0].removesuffix(".tsv")
        header, values = path.read_text().splitlines()[:2]
        jobs.setdefault(rule, []).append(float(dict(zip(header.split("\t"), values.split("\t")))["s"]))
    return jobs


def tensorflow_start(repeats=3):
    """Median wall seconds of a Python process that only imports TensorFlow."""
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
        times.append(time.perf_counter() - begin)
    return sorted(times)[len(times) // 2]


def training_jobs(args):
    targets = [f"results/runs/FashionMNIST-sample/cnn/snn/{a}/seed0/metrics.json" for a in ACTIVATIONS]
    config = ["--config", f"steps={args.steps}", "recipes=[snn]", f"activations=[{','.join(ACTIVATIONS)}]"]
    ways = {"parallel": ["--cores", str(args.cores)],
            "one by one": ["--cores", str(args.cores), "--set-threads", f"train={args.cores}"],
            "single core": ["--cores", "1"]}
    times = {}
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        copy_project(workdir)
        snakemake(workdir, "--cores", "1", "results/data/FashionMNIST-sample.h5")
        for way, flags in ways.items():
            for stale in ("results/runs", "results/checkpoints", "results/logs"):
                shutil.rmtree(workdir / stale, ignore_errors=True)
            times[way], _ = snakemake(workdir, *targets, *flags, *config)
            print(f"{way:<12} {times[way]:6.1f} s   snakemake {' '.join(flags)}", flush=True)
    print(f"\n{len(ACTIVATIONS)} training jobs of {args.steps} steps on {args.cores} cores: parallel takes "
          f"{times['parallel'] / times['one by one']:.2f}x the time of one by one")


if __name__ == "__main__":
    run_cli(main)
