#!/usr/bin/env python3
"""Convert a dataset into the project's HDF5 layout (one file, whole arrays, official splits).

For a built-in dataset, --source is the folder of its verified raw files (see download.py); for
your own dataset, its folder (data.h5, or the old layout data.hy + id.txt [+ test_ids.txt]).

    python scripts/convert.py --dataset FashionMNIST-sample --source results/raw/FashionMNIST-sample \
        --out results/data/FashionMNIST-sample.h5
    python scripts/convert.py --dataset mydata --source datasets/mydata --out results/data/mydata.h5
"""

import argparse

from actviz.datasets import DATASETS, convert
from actviz.errors import run_cli
from actviz.own_data import convert_own


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, metavar="NAME",
                        help=f"one of {', '.join(DATASETS)}, or your own dataset's name")
    parser.add_argument("--source", required=True, help="folder holding the dataset's files")
    parser.add_argument("--out", required=True, help="HDF5 file to write")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="own datasets in the old layout without test_ids.txt: share of ids "
                             "drawn (fixed seed) for the test split")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.dataset in DATASETS:
        sizes = convert(DATASETS[args.dataset], args.source, args.out)
    else:
        sizes = convert_own(args.dataset, args.source, args.out, args.test_fraction)
    print(f"{args.dataset}: {sizes['train']} train + {sizes['test']} test images -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
