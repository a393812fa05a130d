#!/usr/bin/env python3
"""Select the setting of one activation from its sweep's trials: the trial with the highest mean
validation accuracy over the sweep seeds at its last step (a trial with a diverged seed never; ties:
the first in the config's order). Writes the selection as JSON:

    python scripts/select_trial.py --sweep-json '{"learning_rate": [0.0003, 0.001]}' \\
        --trial learning_rate=0.0003 results/trials/.../learning_rate=0.0003/seed0/metrics.json \\
        --trial learning_rate=0.001 results/trials/.../learning_rate=0.001/seed0/metrics.json \\
        --out results/selection/FashionMNIST-sample/cnn/snn/relu.json
"""

import argparse

from actviz.errors import json_option, run_cli
from actviz.sweeps import select_from_files


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-json", required=True, help="the config's sweep: {setting: [values]}")
    parser.add_argument("--trial", nargs=2, action="append", metavar=("NAME", "METRICS"), required=True,
                        help="a trial's name and the metrics.json of one of its seeds (repeat: every trial, every "
                             "seed)")
    parser.add_argument("--out", required=True, help="the selection, JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sweep = json_option(args.sweep_json, "--sweep-json")
    selection = select_from_files(sweep, args.trial, args.out)
    chosen = selection["trial"] or "none (every trial diverged)"
    print(f"{selection['run']}: selected {chosen} of {selection['trials']} trials")


if __name__ == "__main__":
    run_cli(main)
