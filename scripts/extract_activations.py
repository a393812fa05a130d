#!/usr/bin/env python3
"""Extract every layer's activations on fixed test images from a run's final checkpoint.

Writes the activations to HDF5 (one dataset per layer) and per-layer statistics (mean, std, min,
max, zero fraction, histogram on a fixed range shared by all runs) to JSON and CSV.

    python scripts/extract_activations.py --dataset results/data/FashionMNIST.h5 \\
        --checkpoint-dir runs/selu/checkpoints --out selu.h5 --stats selu.json --stats-csv selu.csv
"""

import argparse

from actviz.errors import run_cli
from actviz.extraction import extract
from actviz.settings import ExtractSettings, add_options, from_args
from actviz.tensorflow_start import start_tensorflow


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="the run's dataset HDF5 file")
    parser.add_argument("--checkpoint-dir", required=True, help="the run's checkpoint folder")
    add_options(parser, ExtractSettings, "extraction settings (config.yaml's keys of the same names)")
    outputs = parser.add_argument_group("where the results are written")
    outputs.add_argument("--out", required=True, help="activations HDF5 file")
    outputs.add_argument("--stats", required=True, help="per-layer statistics JSON")
    outputs.add_argument("--stats-csv", required=True, help="per-layer statistics CSV")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start_tensorflow()  # before any other import of it: its start-up noise kept out of the log
    result = extract(args.dataset, args.checkpoint_dir, args.out, args.stats, args.stats_csv,
                     from_args(ExtractSettings, args), threads=args.threads or None, progress=not args.quiet)
    print(f"{result['dataset']} {result['activation']} seed {result['seed']}: "
          f"{len(result['layers'])} layers of {result['probe_images']} images -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
