"""The old project's dataset layout: one HDF5 group per image (data.hy) plus id.txt.

The baseline bench/convert_benchmark.py measures the project's layout against, and the writer of
the tests' fixtures in that layout (actviz.own_data reads it). Slow by design; not part of actviz.
"""

from pathlib import Path

import h5py
import numpy as np

from actviz.own_data import LEGACY_LAYOUT


def write_legacy_layout(folder, images, labels, num_classes):
    """Write ``images``/``labels`` as the old project did: one HDF5 group per image (data.hy),
    each with ``image`` and a one-hot boolean ``label``, and ``id.txt`` listing the ids."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / LEGACY_LAYOUT[0], "w") as f, open(folder / LEGACY_LAYOUT[1], "w") as ids:
        for i, (image, label) in enumerate(zip(images, labels)):
            group = f.create_group(str(i))
            ids.write(f"{i}\n")
            group["image"] = image
            one_hot = np.zeros(num_classes, dtype=bool)
            one_hot[label] = True
            group["label"] = one_hot


def read_legacy_groups(path):
    """Read every image and label back from a one-group-per-image file, as the old loader did."""
    with h5py.File(path, "r") as f:
        return [(f[k]["image"][()], f[k]["label"][()]) for k in f]
