#!/usr/bin/env python3
"""Parallel training jobs against the same jobs one after another, through Snakemake.

Trains the default config's three activations (snn recipe, the embedded Fashion-MNIST sample,
--steps each) in a scratch copy of the workflow, three ways, and prints the wall time of each:

  parallel      snakemake --cores N            (train jobs take 1 thread: N run at once)
  one by one    snakemake --cores N --set-threads train=N   (each job gets every core)
  single core   snakemake --cores 1            (for reference)

The dataset is converted once beforehand, so only the training jobs are timed.

    python bench/parallel_benchmark.py [--cores 2] [--steps 800]
"""

import argparse
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
    args = parser.parse_args(argv)
    targets = [f"results/runs/FashionMNIST-sample/cnn/snn/{a}/seed0/metrics.json" for a in ACTIVATIONS]
    config = ["--config", f"steps={args.steps}", "recipes=[snn]", f"activations=[{','.join(ACTIVATIONS)}]"]
    ways = {"parallel": ["--cores", str(args.cores)],
            "one by one": ["--cores", str(args.cores), "--set-threads", f"train={args.cores}"],
            "single core": ["--cores", "1"]}
    times = {}
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        # The workflow as git sees it: without what .gitignore names (the virtualenv, results).
        ignored = [line.strip().strip("/") for line in (REPO / ".gitignore").read_text().splitlines() if line.strip()]
        shutil.copytree(REPO, workdir, ignore=shutil.ignore_patterns(".git", *ignored), dirs_exist_ok=True)
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
