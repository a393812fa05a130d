#!/usr/bin/env python3
"""Re-create the embedded Fashion-MNIST sample (actviz/data/fashion-mnist-sample/) from the full dataset.

The sample takes, for each of the 10 classes, the same number of images from the official train
split and from the official test split, chosen with a fixed random seed and kept in their original
order. The full files are verified against their published checksums first.

    python scripts/make_sample.py --source /usr/share/datasets/fashion-mnist \\
        --out actviz/data/fashion-mnist-sample
"""

import argparse

from actviz.errors import run_cli
from actviz.sample import make_sample


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist",
                        help="folder or URL prefix holding the full Fashion-MNIST IDX .gz files "
                             "(default: Debian's dataset-fashion-mnist folder)")
    parser.add_argument("--out", required=True,
                        help="folder to write the sample to (the shipped one: actviz/data/fashion-mnist-sample)")
    parser.add_argument("--train-per-class", type=int, default=1000, help="train images per class")
    parser.add_argument("--test-per-class", type=int, default=200, help="test images per class")
    parser.add_argument("--seed", type=int, default=2017, help="seed of the selection")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checksums = make_sample(args.source, args.out, args.train_per_class, args.test_per_class, args.seed)
    for name, checksum in checksums.items():
        print(f"{name}  {checksum}")


if __name__ == "__main__":
    run_cli(main)
