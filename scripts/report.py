#!/usr/bin/env python3
"""Render the self-contained HTML report comparing activation functions, and export its numbers.

Every run's files are read (any order; they are joined by dataset, recipe, activation and seed);
every file written is named on the command line:

    python scripts/report.py --metrics results/runs/*/*/*/*/metrics.json \\
        --training-stats results/runs/*/*/*/*/training_stats.csv \\
        --stats results/activations/*/*/*/*.stats.json --activations results/activations/*/*/*/*.h5 \\
        --datasets results/data/*.h5 --html report.html --accuracy-csv accuracy.csv \\
        --comparisons-csv comparisons.csv --per-class-csv per_class.csv --confusion-csv confusion.csv \\
        --layer-stats-csv layer_stats.csv --training-stats-csv training_stats.csv \\
        --curves-csv learning_curves.csv --numbers-json report.json
"""

import argparse
import os
from dataclasses import MISSING, fields

# The report spreads its work over processes (--processes); a BLAS pool of every core in each of them fights the
# others (320 runs on 2 cores: 231 s, 190 s with one BLAS thread a process). Set before numpy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from actviz.errors import UserError, json_option, run_cli  # noqa: E402
from actviz.report.render import ReportInputs, ReportOutputs, render_report  # noqa: E402
from actviz.report.workers import available_cores  # noqa: E402
from actviz.settings import ReportSettings, add_options, flag, from_args  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inputs = parser.add_argument_group("what is read")
    for spec in fields(ReportInputs):
        optional = spec.metadata.get("optional", False)
        inputs.add_argument(flag(spec.name), nargs="*" if optional else "+", required=not optional,
                            default=[] if optional else None, help=spec.metadata["help"].replace("%", "%%"))
    inputs.add_argument("--config-json", default="{}", help="the workflow config as JSON, shown in the report")
    parser.add_argument("--processes", type=int, default=available_cores(),
                        help="processes that read the runs' activations and draw the figures (default: the cores "
                             "this process may use, %(default)s here)")
    add_options(parser, ReportSettings, "report settings (config.yaml's keys of the same names)")
    outputs = parser.add_argument_group("what is written")
    for spec in fields(ReportOutputs):
        outputs.add_argument(flag(spec.name), required=spec.default is MISSING,
                             help=spec.metadata["help"].replace("%", "%%"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = json_option(args.config_json, "--config-json")
    if args.processes < 1:
        raise UserError(f"--processes must be at least 1, got {args.processes}")
    settings = from_args(ReportSettings, args).check()
    inputs = ReportInputs(**{spec.name: getattr(args, spec.name) for spec in fields(ReportInputs)})
    outputs = ReportOutputs(**{spec.name: getattr(args, spec.name) for spec in fields(ReportOutputs)})
    render_report(inputs, settings, config, outputs, args.processes)
    print(f"report written to {args.html}")


if __name__ == "__main__":
    run_cli(main)
