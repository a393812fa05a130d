#!/usr/bin/env python3
"""Decide one look of a "seeds until decided" study (config max_seeds): every pair of a setup's activations
over the seeds trained so far, paired by seed — ahead, equivalent within the margin, or undecided — on each axis of
--decide-on (test accuracy, churn, calibration), with the error rate held over all the planned looks
(actviz.sequential). Writes the decision as JSON, with the seeds the
next look trains when a pair is still undecided:

    python scripts/decide.py --look 1 --planned-json '[[0, 1, 2], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6, 7]]' \\
        --margin 0.01 --previous results/decisions/.../look0.json \\
        --metrics results/runs/FashionMNIST-sample/cnn/snn/*/seed*/metrics.json \\
        --predictions results/runs/FashionMNIST-sample/cnn/snn/*/seed*/predictions.h5 --decide-on accuracy churn \\
        --out results/decisions/FashionMNIST-sample/cnn/snn/look1.json
"""

import argparse

from actviz.atomic import write_json
from actviz.decisions import decide_look
from actviz.errors import UserError, json_option, load_json, run_cli
from actviz.report.accuracy_tables import design_of
from actviz.settings import DecideSettings, add_options, from_args


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--look", type=int, required=True, help="this look, from 0")
    parser.add_argument("--planned-json", required=True, help="the seeds of every look, JSON: [[seeds], ...]")
    add_options(parser, DecideSettings, "what is decided")
    parser.add_argument("--previous", help="the look before's decision, JSON (none at look 0)")
    parser.add_argument("--metrics", nargs="*", default=[],
                        help="every activation's metrics.json at this look's seeds (none once a look before stopped)")
    parser.add_argument("--predictions", nargs="*", default=[],
                        help="their predictions.h5, each beside its metrics.json (churn and calibration)")
    parser.add_argument("--out", required=True, help="the decision, JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    planned = json_option(args.planned_json, "--planned-json")
    if not 0 <= args.look < len(planned):
        raise UserError(f"--look {args.look}: the plan has looks 0 to {len(planned) - 1}")
    previous = load_json(args.previous) if args.previous else None
    if not args.metrics and not (previous and previous["stopped"]):
        raise UserError("no --metrics to decide on")
    settings = from_args(DecideSettings, args).check()
    design = design_of(settings, tuple(map(tuple, planned)))
    decision = decide_look(args.metrics, args.look, design, previous, args.predictions)
    write_json(args.out, decision)
    name = "/".join(decision["setup"].values())
    pairs = "; ".join(f"{p['activation_a']} vs {p['activation_b']}{'' if p['axis'] == 'accuracy' else ' ' + p['axis']}: "
                      f"{p['decision']}" for p in decision["pairs"] if p["axis"] in design.decide_on)
    then = ("stops" if decision["stopped"] else f"goes on with seeds {decision['next_seeds']}")
    print(f"{name}, look {args.look + 1} of {len(planned)} ({len(decision['seeds'])} seeds): {pairs}; the study {then}")


if __name__ == "__main__":
    run_cli(main)
