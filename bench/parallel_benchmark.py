#!/usr/bin/env python3
"""Parallel training jobs against the same jobs one after another, through Snakemake.

Trains the default config's three activations (snn recipe, the embedded Fashion-MNIST sample,
--steps each) in a scratch copy of the workflow, three ways, and prints the wall time of each:

  parallel      snakemake --cores N            (train jobs take 1 thread: N run at once)
  one by one    snakemake --cores N --set-threads train=N   (each job gets every core)
  single core   snakemake --cores 1            (for reference)

The dataset is converted once beforehand, so only the training jobs are timed.

Then the default run (`snakemake --cores N report`, what `make report` runs: 2 recipes x 3 activations,
every job from the conversion to the report) from scratch: its wall time against the training steps'
own time (each run's metrics.json) divided by the cores, and where the rest went.

    python bench/parallel_benchmark.py [--cores 2] [--steps 800] [--only default]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actviz.errors import UserError, run_cli

REPO = Path(__file__).resolve().parent.parent
ACTIVATIONS = ("relu", "lrelu", "selu")


def snakemake(workdir, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise UserError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores Snakemake may use")
    parser.add_argument("--steps", type=int, default=800, help="training steps per job")
    parser.add_argument("--only", choices=["training", "default"], help="run one of the two parts")
    args = parser.parse_args(argv)
    if args.only != "default":
        training_jobs(args)
    if args.only != "training":
        default_run(args)


def copy_project(folder):
    """Copy the project into ``folder`` as git sees it: without what .gitignore names (the
    virtualenv, results, Snakemake's state). The benchmarks' and the tests' scratch workflows."""
    ignored = [line.strip().strip("/") for line in (REPO / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(".git", *ignored), dirs_exist_ok=True)


def default_run(args):
    """The default config's whole workflow from scratch on ``args.cores`` cores."""
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        copy_project(workdir)
        wall = snakemake(workdir, "--cores", str(args.cores), "report")
        paths = sorted((workdir / "results" / "runs").glob("*/*/*/*/*/metrics.json"))
        runs = [json.loads(p.read_text()) for p in paths]
        steps = sum(m["seconds"]["train_steps"] for m in runs)
        loops = sum(m["train_seconds"] for m in runs)
        outside = sum(m["seconds"].get("setup", 0) + m["seconds"].get("initial_state", 0) for m in runs)
    print(f"\ndefault run, snakemake --cores {args.cores} report, from scratch ({len(runs)} training runs):")
    print(f"  snakemake wall time                           {wall:7.1f} s")
    print(f"  training steps, all runs                      {steps:7.1f} s  -> / {args.cores} cores = "
          f"{steps / args.cores:.1f} s")
    print(f"  training loops (with summaries, evaluations)  {loops:7.1f} s")
    print(f"  training set-up and step-0 state              {outside:7.1f} s")
    print(f"  wall / (steps / cores)                        {wall / (steps / args.cores):7.2f}")


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
            times[way] = snakemake(workdir, *targets, *flags, *config)
            print(f"{way:<12} {times[way]:6.1f} s   snakemake {' '.join(flags)}", flush=True)
    print(f"\n{len(ACTIVATIONS)} training jobs of {args.steps} steps on {args.cores} cores: parallel takes "
          f"{times['parallel'] / times['one by one']:.2f}x the time of one by one")


if __name__ == "__main__":
    run_cli(main)
