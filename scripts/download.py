#!/usr/bin/env python3
"""Fetch the raw files of a dataset, verify their checksums, and optionally convert them to HDF5.

Each dataset has a list of sources (local folders first, then URLs); --mirror adds yours in front
(a folder or a URL prefix holding the same file names). A file is used only once it matches its
published checksum. The raw files go to --raw-dir; --manifest records what was verified, --out
converts them to the project's HDF5 layout. Your own dataset (a folder DATASETS_DIR/NAME/, see
README) is checked and, with --out, converted.

    python scripts/download.py --dataset MNIST --raw-dir raw/MNIST --out MNIST.h5
    python scripts/download.py --dataset FashionMNIST --raw-dir raw/FashionMNIST \\
        --mirror /usr/share/datasets/fashion-mnist --out FashionMNIST.h5
"""

import argparse
from pathlib import Path

from actviz.datasets import DATASETS, convert
from actviz.downloads import fetch, write_manifest
from actviz.errors import UserError, run_cli
from actviz.own_data import convert_own, resolve_dataset


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, metavar="NAME",
                        help=f"the dataset to fetch: {', '.join(DATASETS)}, or your own dataset's folder name")
    parser.add_argument("--mirror", nargs="+", action="extend", default=[], metavar="URL_OR_DIR",
                        help="extra sources tried before the built-in ones (folders or URL prefixes)")
    parser.add_argument("--raw-dir", help="folder for the verified raw files (needed for a built-in dataset)")
    parser.add_argument("--manifest", help="JSON file recording which raw files were verified, and how")
    parser.add_argument("--out", help="HDF5 file to convert the dataset into (default: no conversion)")
    parser.add_argument("--datasets-dir", default="datasets",
                        help="where your own datasets' folders are (default: %(default)s)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="own datasets in the old layout without test_ids.txt: test share (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds before a silent source is given up (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    kind, found = resolve_dataset(args.dataset, args.datasets_dir)
    if kind == "own":
        if args.out:
            sizes = convert_own(args.dataset, found, args.out, args.test_fraction)
            print(f"{args.dataset}: {sizes['train']} train + {sizes['test']} test images -> {args.out}")
        else:
            print(f"{args.dataset}: your own dataset in {found}; nothing to fetch (--out converts it)")
        return
    if not args.raw_dir:
        raise UserError(f"{args.dataset}: give --raw-dir, the folder for its raw files")
    raw_dir = Path(args.raw_dir)
    verified = fetch(found, raw_dir, mirrors=args.mirror, timeout=args.timeout, progress=not args.quiet)
    if args.manifest:
        write_manifest(args.manifest, found, raw_dir, verified)
    print(f"{args.dataset}: {len(verified)} raw files verified in {raw_dir}")
    if args.out:
        sizes = convert(found, raw_dir, args.out)
        print(f"{args.dataset}: {sizes['train']} train + {sizes['test']} test images -> {args.out}")


if __name__ == "__main__":
    run_cli(main)
