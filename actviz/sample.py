"""The embedded Fashion-MNIST sample: how it is drawn from the full dataset."""

import gzip
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from actviz.datasets import DATASETS, IDX_FILES
from actviz.downloads import fetch
from actviz.formats import read_idx, write_idx


def balanced_indices(labels, per_class, seed):
    """``per_class`` indices of each label, drawn with ``seed``, returned in ascending order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        candidates = np.flatnonzero(labels == label)
        if len(candidates) < per_class:
            raise ValueError(f"class {label} has {len(candidates)} images, fewer than {per_class}")
        chosen.append(rng.choice(candidates, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_sample(source, out_dir, train_per_class, test_per_class, seed):
    """Write the sample's four IDX .gz files to ``out_dir``; return ``{file: content sha256}``."""
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as raw_dir:
        fetch(DATASETS["FashionMNIST"], raw_dir, mirrors=[source], log=lambda *_: None)
        checksums = {}
        for split, per_class in (("train", train_per_class), ("test", test_per_class)):
            images = read_idx(Path(raw_dir) / IDX_FILES[f"{split}_images"])
            labels = read_idx(Path(raw_dir) / IDX_FILES[f"{split}_labels"])
            keep = balanced_indices(labels, per_class, seed)
            for role, array in (("images", images[keep]), ("labels", labels[keep])):
                name = IDX_FILES[f"{split}_{role}"]
                write_idx(out_dir / name, array)
                with gzip.open(out_dir / name, "rb") as f:
                    checksums[name] = "sha256:" + hashlib.sha256(f.read()).hexdigest()
            np.savetxt(out_dir / f"{split}-indices.txt", keep, fmt="%d")
    return checksums
