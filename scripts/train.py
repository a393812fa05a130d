#!/usr/bin/env python3
"""Train the comparison CNN with one activation function on one dataset, set up by a recipe.

Resumes from the newest checkpoint in --checkpoint-dir when it was made with the same settings;
writes TensorBoard logs to --log-dir, final metrics (test accuracy on the whole test split) to
--metrics, and every layer's statistics over training to training_stats.csv and
training_histograms.csv beside the metrics.

    python scripts/train.py --dataset datasets/FashionMNIST.h5 --activation selu --steps 2000
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.activations import ACTIVATIONS  # noqa: E402
from actviz.errors import UserError, run_cli  # noqa: E402
from actviz.recipes import PRECISIONS, RECIPES  # noqa: E402
from actviz.training import TrainSettings, train  # noqa: E402

DEFAULTS = TrainSettings()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True,
                        help="dataset: an HDF5 file made by download.py, or a name NAME for datasets/NAME.h5")
    parser.add_argument("--activation", default="selu", choices=list(ACTIVATIONS), help="activation function")
    parser.add_argument("--recipe", default=DEFAULTS.recipe, choices=list(RECIPES),
                        help="snn: each activation with its own init/dropout; seed: the old project's setup")
    parser.add_argument("--dropout", type=float, default=DEFAULTS.dropout,
                        help="dropout rate of the snn recipe (AlphaDropout for SELU)")
    parser.add_argument("--lrelu-slope", type=float, default=DEFAULTS.lrelu_slope, help="Leaky ReLU's slope below 0")
    parser.add_argument("--steps", type=int, default=DEFAULTS.steps, help="training steps (batches)")
    parser.add_argument("--batch_size", "--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--learning_rate", "--learning-rate", type=float, default=DEFAULTS.learning_rate,
                        help="Adam learning rate")
    parser.add_argument("--lr_weight_decay", "--lr-weight-decay", action="store_true",
                        help="halve the learning rate every 10,000 steps")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of weights and batch order")
    parser.add_argument("--log-every", type=int, default=DEFAULTS.log_every, help="steps between scalar summaries")
    parser.add_argument("--eval-every", type=int, default=DEFAULTS.eval_every,
                        help="steps between test-accuracy evaluations")
    parser.add_argument("--stats-every", type=int, default=DEFAULTS.stats_every,
                        help="steps between layer statistics of the probe batch")
    parser.add_argument("--histogram-every", type=int, default=DEFAULTS.histogram_every,
                        help="steps between activation histograms")
    parser.add_argument("--image-every", type=int, default=DEFAULTS.image_every,
                        help="steps between tfplot images (30-50 ms each, 12 per summary)")
    parser.add_argument("--checkpoint-every", type=int, default=DEFAULTS.checkpoint_every)
    parser.add_argument("--probe-size", type=int, default=DEFAULTS.probe_size,
                        help="test images whose activations the summaries show")
    parser.add_argument("--histogram-range", type=float, nargs=2, default=DEFAULTS.histogram_range,
                        metavar=("LOW", "HIGH"), help="value range of the tfplot histograms")
    parser.add_argument("--histogram-bins", type=int, default=DEFAULTS.histogram_bins)
    parser.add_argument("--precision", default=DEFAULTS.precision, choices=list(PRECISIONS),
                        help="bfloat16: layers compute in bfloat16 (faster on CPUs with AVX512_BF16/AMX and GPUs)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    parser.add_argument("--checkpoint-dir", help="default: train_dir/DATASET/RECIPE/ACTIVATION/seedSEED/checkpoints")
    parser.add_argument("--log-dir", help="TensorBoard run folder (default: train_dir/.../logs)")
    parser.add_argument("--metrics", help="metrics JSON to write (default: train_dir/.../metrics.json)")
    parser.add_argument("--stats", help="layer statistics over training, CSV (default: beside --metrics)")
    parser.add_argument("--histograms", help="their histograms, CSV (default: beside --metrics)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dataset = Path(args.dataset)
    if dataset.suffix != ".h5":
        dataset = Path("datasets") / f"{args.dataset}.h5"
    if not dataset.exists():
        raise UserError(f"{dataset}: dataset file not found (run scripts/download.py --dataset NAME first)")
    run_dir = Path("train_dir") / dataset.stem / args.recipe / args.activation / f"seed{args.seed}"
    settings = TrainSettings(
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
        lr_weight_decay=args.lr_weight_decay, seed=args.seed, recipe=args.recipe, dropout=args.dropout,
        lrelu_slope=args.lrelu_slope, log_every=args.log_every, eval_every=args.eval_every,
        stats_every=args.stats_every, histogram_every=args.histogram_every, image_every=args.image_every,
        checkpoint_every=args.checkpoint_every, probe_size=args.probe_size,
        histogram_range=tuple(args.histogram_range), histogram_bins=args.histogram_bins, precision=args.precision)
    metrics = train(dataset, args.activation, settings,
                    checkpoint_dir=args.checkpoint_dir or run_dir / "checkpoints",
                    log_dir=args.log_dir or run_dir / "logs",
                    metrics_path=args.metrics or run_dir / "metrics.json",
                    stats_path=args.stats, histograms_path=args.histograms,
                    threads=args.threads or None, progress=not args.quiet)
    if metrics["diverged_at_step"] is not None:
        print(f"{metrics['run']}: diverged at step {metrics['diverged_at_step']} (loss NaN or infinite); "
              f"its metrics say so and the report marks it")
    else:
        print(f"{metrics['run']}: test accuracy {metrics['test_accuracy']:.4f} after {metrics['final_step']} steps")


if __name__ == "__main__":
    run_cli(main)
