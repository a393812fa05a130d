#!/usr/bin/env python3
"""Convert a dataset's verified raw files into the project's HDF5 layout (one file, whole arrays).

    python scripts/convert.py --dataset FashionMNIST-sample --raw-dir results/raw/FashionMNIST-sample \
        --out results/data/FashionMNIST-sample.h5
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.datasets import DATASETS, convert, get_spec  # noqa: E402
from actviz.errors import run_cli  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, metavar="NAME", help=f"one of: {', '.join(DATASETS)}")
    parser.add_argument("--raw-dir", required=True, help="folder holding the dataset's raw files")
    parser.add_argument("--out", required=True, help="HDF5 file to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sizes = convert(get_spec(args.dataset), args.raw_dir, args.out)
    print(f"{args.dataset}: {sizes['train']} train + {sizes['test']} test images -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
