#!/usr/bin/env python3
"""Render the self-contained HTML report comparing activation functions, and export its numbers.

    python scripts/report.py --metrics results/runs/*/*/*/metrics.json --stats ... \
        --activations ... --datasets results/data/*.h5 --out results/report.html
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.errors import UserError, run_cli  # noqa: E402
from actviz.report import render_report  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", nargs="+", required=True, help="every run's metrics JSON")
    parser.add_argument("--stats", nargs="+", required=True, help="every run's layer statistics JSON")
    parser.add_argument("--activations", nargs="+", required=True, help="every run's activations HDF5")
    parser.add_argument("--training-stats", nargs="+", required=True,
                        help="every run's layer statistics over training (training_stats.csv)")
    parser.add_argument("--training-histograms", nargs="+", required=True,
                        help="every run's histograms over training (training_histograms.csv)")
    parser.add_argument("--datasets", nargs="+", required=True, help="the dataset HDF5 files")
    parser.add_argument("--config-json", default="{}", help="the workflow config as JSON, shown in the report")
    parser.add_argument("--out", default="results/report.html", help="HTML file to write")
    parser.add_argument("--tables-dir", default="results/tables", help="where the CSV/JSON exports go")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise UserError(f"--config-json is not JSON ({error})") from None
    render_report(args.metrics, args.stats, args.activations, args.training_stats, args.training_histograms,
                  args.datasets, config, args.out, args.tables_dir)
    print(f"report written to {args.out}")


if __name__ == "__main__":
    run_cli(main)
