#!/usr/bin/env python3
"""Select the setting of one activation from its sweep's trials: the trial with the highest mean
validation accuracy over the sweep seeds at its last step (a trial with a diverged seed never; ties:
the first in the config's order). Writes the selection as JSON:

    python scripts/select_trial.py --sweep-json '{"learning_rate": [0.0003, 0.001]}' --rung 800 \\
        --trial learning_rate=0.0003 results/trials/.../learning_rate=0.0003/seed0/steps800/metrics.json \\
        --trial learning_rate=0.001 results/trials/.../learning_rate=0.001/seed0/steps800/metrics.json \\
        --out results/selection/FashionMNIST-sample/cnn/snn/relu/steps800.json

Successive halving (sweep_rungs): at every rung but the last, --halve keeps the better half (rounded up)
of the trials as "survivors", which the next rung extends; --previous names the rung before's selection,
whose survivors are this rung's trials.
"""

import argparse

from actviz.errors import UserError, json_option, load_json, run_cli
from actviz.sweeps import select_from_files


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-json", required=True, help="the config's sweep: {setting: [values]}")
    parser.add_argument("--trial", nargs=2, action="append", metavar=("NAME", "METRICS"), default=[],
                        help="a trial's name and the metrics.json of one of its seeds (repeat: every trial, every "
                             "seed)")
    parser.add_argument("--rung", type=int, help="the steps the trials were trained to")
    parser.add_argument("--previous", help="the rung before's selection, JSON (its survivors are this rung's trials)")
    parser.add_argument("--halve", action="store_true",
                        help="a rung before the last: keep the better half, rounded up, instead of selecting one")
    parser.add_argument("--out", required=True, help="the selection, JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sweep = json_option(args.sweep_json, "--sweep-json")
    previous = load_json(args.previous) if args.previous else None
    if not args.trial and not previous:
        raise UserError("no --trial to select from")
    selection = select_from_files(sweep, args.trial, args.out, args.rung, previous, last=not args.halve)
    at = f" at step {args.rung}" if args.rung else ""
    if args.halve:
        print(f"{selection['run']}{at}: {len(selection['survivors'])} of {len(selection['ranked'])} trials go on: "
              f"{', '.join(selection['survivors']) or 'none (every trial diverged)'}")
    else:
        chosen = selection["trial"] or "none (every trial diverged)"
        print(f"{selection['run']}{at}: selected {chosen} of {selection['trials']} trials")


if __name__ == "__main__":
    run_cli(main)
