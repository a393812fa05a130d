#!/usr/bin/env python3
"""Conversion benchmark: the project's HDF5 layout against the old project's one group per image.

Converts the full Fashion-MNIST (70,000 images) both ways from the same decoded arrays, reads each
back whole, and prints the times and the speed-up. Needs the official files in a local folder
(default: Debian's dataset-fashion-mnist) or reachable through --source.

    python bench/convert_benchmark.py [--source /usr/share/datasets/fashion-mnist]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from legacy_layout import read_legacy_groups, write_legacy_layout

from actviz.datasets import DATASETS, DEBIAN_FASHION_MNIST, convert, read_raw
from actviz.downloads import fetch
from actviz.errors import run_cli
from actviz.formats import read_split, write_dataset_h5


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(DEBIAN_FASHION_MNIST),
                        help="folder or URL prefix with the official Fashion-MNIST files")
    args = parser.parse_args(argv)
    spec = DATASETS["FashionMNIST"]
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        fetch(spec, work / "raw", mirrors=[args.source], log=lambda *_: None)
        decode_s, splits = timed(read_raw, spec, work / "raw")
        n = sum(len(labels) for _, labels in splits.values())
        attrs = {"name": spec.name, "classes": list(spec.classes)}

        project_s, _ = timed(write_dataset_h5, work / "project.h5", splits, attrs)
        project_read_s, _ = timed(lambda: [read_split(work / "project.h5", s) for s in ("train", "test")])
        convert_s, _ = timed(convert, spec, work / "raw", work / "converted.h5")

        images = np.concatenate([splits["train"][0], splits["test"][0]])
        labels = np.concatenate([splits["train"][1], splits["test"][1]])
        legacy_s, _ = timed(write_legacy_layout, work / "legacy", images, labels, 10)
        legacy_read_s, _ = timed(read_legacy_groups, work / "legacy" / "data.hy")

        project_mb = (work / "project.h5").stat().st_size / 1e6
        legacy_mb = (work / "legacy" / "data.hy").stat().st_size / 1e6

    print(f"Fashion-MNIST: {n:,} images of 28x28x1, written from the same decoded arrays\n")
    print(f"{'layout':<46}{'write s':>9}{'read s':>9}{'MB':>8}")
    print(f"{'project: whole arrays, chunked, LZF':<46}{project_s:>9.2f}{project_read_s:>9.2f}{project_mb:>8.1f}")
    print(f"{'old project: one HDF5 group per image':<46}{legacy_s:>9.2f}{legacy_read_s:>9.2f}{legacy_mb:>8.1f}")
    print(f"\nwrite speed-up: {legacy_s / project_s:.1f}x    read speed-up: {legacy_read_s / project_read_s:.1f}x")
    print(f"whole convert() (verify checksums {convert_s - decode_s - project_s:.2f} s + decode IDX "
          f"{decode_s:.2f} s + write): {convert_s:.2f} s, "
          f"{(decode_s + legacy_s) / convert_s:.1f}x faster than decode + old write")


if __name__ == "__main__":
    run_cli(main)
