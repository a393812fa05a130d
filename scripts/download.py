#!/usr/bin/env python3
"""Fetch the raw files of one or more datasets, verify their checksums and convert them to HDF5.

Each dataset has a list of sources (local folders first, then URLs); --mirror adds yours in front
(a folder or a URL prefix holding the same file names). A file is used only once it matches its
published checksum. Raw files go to DEST/raw/NAME/, the converted dataset to DEST/NAME.h5.
Your own dataset (a folder DATASETS_DIR/NAME/, see README) is checked and converted to DEST/NAME.h5.

    python scripts/download.py --dataset MNIST SVHN CIFAR10 FashionMNIST
    python scripts/download.py --dataset FashionMNIST --mirror /usr/share/datasets/fashion-mnist
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.datasets import DATASETS, convert, fetch, write_manifest  # noqa: E402
from actviz.errors import run_cli  # noqa: E402
from actviz.own_data import convert_own, resolve_dataset  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", required=True, metavar="NAME",
                        help=f"datasets to fetch: {', '.join(DATASETS)}")
    parser.add_argument("--mirror", nargs="+", action="extend", default=[], metavar="URL_OR_DIR",
                        help="extra sources tried before the built-in ones (folders or URL prefixes)")
    parser.add_argument("--dest", default="datasets",
                        help="DEST/raw/NAME/ gets the raw files, DEST/NAME.h5 the dataset (default: datasets)")
    parser.add_argument("--datasets-dir", default="datasets",
                        help="where your own datasets' folders are (default: datasets)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="own datasets in the old layout without test_ids.txt: test share")
    parser.add_argument("--no-convert", action="store_true",
                        help="only fetch and verify; write DEST/raw/NAME/manifest.json")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a silent source is given up")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    resolved = [(name, *resolve_dataset(name, args.datasets_dir)) for name in args.dataset]
    dest = Path(args.dest)
    for name, kind, found in resolved:
        out = dest / f"{name}.h5"
        if kind == "own":
            if not args.no_convert:
                sizes = convert_own(name, found, out, args.test_fraction)
                print(f"{name}: {sizes['train']} train + {sizes['test']} test images -> {out}")
            continue
        raw_dir = dest / "raw" / name
        verified = fetch(found, raw_dir, mirrors=args.mirror, timeout=args.timeout, progress=not args.quiet)
        write_manifest(raw_dir / "manifest.json", found, raw_dir, verified)
        if not args.no_convert:
            sizes = convert(found, raw_dir, out)
            print(f"{name}: {sizes['train']} train + {sizes['test']} test images -> {out}")


if __name__ == "__main__":
    run_cli(main)
