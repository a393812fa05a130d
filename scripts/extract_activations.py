#!/usr/bin/env python3
"""Extract every layer's activations on fixed test images from a run's final checkpoint.

Writes the activations to HDF5 (one dataset per layer) and per-layer statistics (mean, std, min,
max, zero fraction, histogram on a fixed range shared by all runs) to JSON and CSV.

    python scripts/extract_activations.py --dataset datasets/FashionMNIST.h5 \
        --checkpoint-dir train_dir/FashionMNIST/selu/seed0/checkpoints --out selu.h5 \
        --stats selu.json --stats-csv selu.csv
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.errors import run_cli  # noqa: E402
from actviz.extraction import extract  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="the run's dataset HDF5 file")
    parser.add_argument("--checkpoint-dir", required=True, help="the run's checkpoint folder")
    parser.add_argument("--out", required=True, help="activations HDF5 file to write")
    parser.add_argument("--stats", required=True, help="per-layer statistics JSON to write")
    parser.add_argument("--stats-csv", required=True, help="per-layer statistics CSV to write")
    parser.add_argument("--probe-images", type=int, default=500,
                        help="how many test images (the first N, the same for every run)")
    parser.add_argument("--histogram-range", type=float, nargs=2, default=(-4.0, 8.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--histogram-bins", type=int, default=60)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = extract(args.dataset, args.checkpoint_dir, args.out, args.stats, args.stats_csv,
                     args.probe_images, tuple(args.histogram_range), args.histogram_bins,
                     threads=args.threads or None, progress=not args.quiet)
    print(f"{result['dataset']} {result['activation']} seed {result['seed']}: "
          f"{len(result['layers'])} layers of {result['probe_images']} images -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
