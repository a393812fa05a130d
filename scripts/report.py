#!/usr/bin/env python3
"""Render the self-contained HTML report comparing activation functions, and export its numbers.

Every run's files are read (any order; they are joined by dataset, recipe, activation and seed);
every file written is named on the command line:

    python scripts/report.py --metrics results/runs/*/*/*/*/metrics.json \\
        --training-stats results/runs/*/*/*/*/training_stats.csv \\
        --training-histograms results/runs/*/*/*/*/training_histograms.csv \\
        --stats results/activations/*/*/*/*.stats.json --activations results/activations/*/*/*/*.h5 \\
        --datasets results/data/*.h5 --html report.html --accuracy-csv accuracy.csv \\
        --layer-stats-csv layer_stats.csv --training-stats-csv training_stats.csv \\
        --curves-csv learning_curves.csv --numbers-json report.json
"""

import argparse
import json

from actviz.errors import UserError, run_cli
from actviz.report.render import ReportInputs, ReportOutputs, render_report


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs = parser.add_argument_group("what is read")
    inputs.add_argument("--metrics", nargs="+", required=True, help="every run's metrics JSON")
    inputs.add_argument("--stats", nargs="+", required=True, help="every run's layer statistics JSON")
    inputs.add_argument("--activations", nargs="+", required=True, help="every run's activations HDF5")
    inputs.add_argument("--training-stats", nargs="+", required=True,
                        help="every run's layer statistics over training (training_stats.csv)")
    inputs.add_argument("--training-histograms", nargs="+", required=True,
                        help="every run's histograms over training (training_histograms.csv)")
    inputs.add_argument("--datasets", nargs="+", required=True, help="the dataset HDF5 files")
    inputs.add_argument("--config-json", default="{}", help="the workflow config as JSON, shown in the report")
    outputs = parser.add_argument_group("what is written")
    outputs.add_argument("--html", required=True, help="the report")
    outputs.add_argument("--accuracy-csv", required=True, help="test accuracy per dataset, recipe and activation")
    outputs.add_argument("--layer-stats-csv", required=True, help="every run's layer statistics after training")
    outputs.add_argument("--training-stats-csv", required=True, help="every run's layer statistics over training")
    outputs.add_argument("--curves-csv", required=True, help="every run's learning curves")
    outputs.add_argument("--numbers-json", required=True, help="every number of the report, with the summary")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise UserError(f"--config-json is not JSON ({error})") from None
    inputs = ReportInputs(args.metrics, args.stats, args.activations, args.training_stats, args.training_histograms,
                          args.datasets)
    outputs = ReportOutputs(args.html, args.accuracy_csv, args.layer_stats_csv, args.training_stats_csv,
                            args.curves_csv, args.numbers_json)
    render_report(inputs, config, outputs)
    print(f"report written to {args.html}")


if __name__ == "__main__":
    run_cli(main)
