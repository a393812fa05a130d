#!/usr/bin/env python3
"""Train the comparison CNN with one activation function on one dataset, set up by a recipe.

Resumes from the newest checkpoint in --checkpoint-dir when it was made with the same settings;
writes TensorBoard logs to --log-dir, final metrics (test accuracy on the whole test split) to
--metrics, and every layer's statistics over training to --stats and --histograms. Every path it
writes is given on the command line:

    python scripts/train.py --dataset results/data/FashionMNIST.h5 --activation selu --steps 2000 \\
        --checkpoint-dir runs/selu/checkpoints --log-dir runs/selu/logs --metrics runs/selu/metrics.json \\
        --stats runs/selu/training_stats.csv --histograms runs/selu/training_histograms.csv
"""

import argparse

from actviz.activations import ACTIVATIONS
from actviz.errors import run_cli
from actviz.settings import TrainSettings, add_options, from_args
from actviz.tensorflow_start import start_tensorflow
from actviz.training import train


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="the dataset's HDF5 file (made by convert.py or download.py)")
    parser.add_argument("--activation", default="selu", choices=list(ACTIVATIONS),
                        help="activation function (default: %(default)s)")
    add_options(parser, TrainSettings, "training settings (config.yaml's keys of the same names)")
    outputs = parser.add_argument_group("where the run is written")
    outputs.add_argument("--checkpoint-dir", required=True, help="checkpoints (and run.json); resumed from")
    outputs.add_argument("--log-dir", required=True, help="TensorBoard run folder")
    outputs.add_argument("--metrics", required=True, help="final metrics JSON")
    outputs.add_argument("--stats", required=True, help="layer statistics over training, CSV")
    outputs.add_argument("--histograms", required=True, help="layer histograms over training, CSV")
    outputs.add_argument("--predictions", help="every test image's predicted class and class probabilities at the "
                                               "end, HDF5 (churn and calibration)")
    parser.add_argument("--trial", help="the name of the sweep's trial this run is (recorded in its metrics)")
    parser.add_argument("--intermediate", action="store_true",
                        help="a successive-halving rung before the last, which a later job extends: no test-split "
                             "evaluation, no pictures at the last step beyond their cadence")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.intermediate and args.predictions:
        parser.error("--predictions: an intermediate rung makes no test evaluation to write")
    return args


def main(argv=None):
    args = parse_args(argv)
    start_tensorflow()  # before any other import of it: its start-up noise kept out of the log
    metrics = train(args.dataset, args.activation, from_args(TrainSettings, args), args.checkpoint_dir, args.log_dir,
                    args.metrics, args.stats, args.histograms, threads=args.threads or None,
                    progress=not args.quiet, trial=args.trial, final=not args.intermediate,
                    predictions_path=args.predictions)
    if metrics["diverged_at_step"] is not None:
        print(f"{metrics['run']}: diverged at step {metrics['diverged_at_step']} (loss NaN or infinite); "
              f"its metrics say so and the report marks it")
    elif metrics["test_accuracy"] is None:  # an intermediate rung: validation only
        print(f"{metrics['run']}: validation accuracy {metrics['validation_accuracy']:.4f} after "
              f"{metrics['final_step']} steps (an intermediate rung: the test split is left for the last)")
    else:
        print(f"{metrics['run']}: test accuracy {metrics['test_accuracy']:.4f} after {metrics['final_step']} steps")


if __name__ == "__main__":
    run_cli(main)
