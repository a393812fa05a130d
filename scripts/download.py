#!/usr/bin/env python3
"""Fetch the raw files of one or more datasets, verify their checksums and convert them to HDF5.

Each dataset has a list of sources (local folders first, then URLs); --mirror adds yours in front.
A file is used only once it matches its published checksum.

    python scripts/download.py --dataset FashionMNIST --mirror /usr/share/datasets/fashion-mnist
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actviz.datasets import DATASETS, convert, fetch, get_spec, write_manifest  # noqa: E402
from actviz.errors import run_cli  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", required=True, metavar="NAME",
                        help=f"datasets to fetch: {', '.join(DATASETS)}")
    parser.add_argument("--mirror", nargs="*", default=[], metavar="URL_OR_DIR",
                        help="extra sources tried before the built-in ones (folders or URL prefixes)")
    parser.add_argument("--raw-dir", default="datasets/raw",
                        help="where raw files go, one folder per dataset (default: datasets/raw)")
    parser.add_argument("--h5-dir", default="datasets",
                        help="where the converted NAME.h5 files go (default: datasets)")
    parser.add_argument("--no-convert", action="store_true",
                        help="only fetch and verify; write RAW_DIR/NAME/manifest.json")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a silent source is given up")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    specs = [get_spec(name) for name in args.dataset]
    for spec in specs:
        raw_dir = Path(args.raw_dir) / spec.name
        verified = fetch(spec, raw_dir, mirrors=args.mirror, timeout=args.timeout, progress=not args.quiet)
        write_manifest(raw_dir / "manifest.json", spec, raw_dir, verified)
        if not args.no_convert:
            out = Path(args.h5_dir) / f"{spec.name}.h5"
            sizes = convert(spec, raw_dir, out)
            print(f"{spec.name}: {sizes['train']} train + {sizes['test']} test images -> {out}")


if __name__ == "__main__":
    run_cli(main)
