"""Your own datasets: a folder ``DATASETS_DIR/NAME/`` named in the config like a built-in dataset.

Two layouts are read:

* the project's own: ``NAME/data.h5`` with ``train/images``, ``train/labels``, ``test/images``,
  ``test/labels`` (see ``actviz.formats``; optional attribute ``classes``, a JSON list of names);
* the old project's: ``NAME/data.hy`` holding one group per id with ``image`` [h, w, c] (or
  [h, w]) and a one-hot ``label``, plus ``NAME/id.txt`` listing the ids, one per line. The test
  split is given by ``NAME/test_ids.txt`` (one id per line) if present, else by a fraction of
  the ids drawn with a fixed seed.

Pixels must lie in 0..255 (float images whose values all lie in 0..1 are scaled by 255). Every
problem stops with one line naming the file and, where there is one, the id.
"""

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from actviz.datasets import DATASETS
from actviz.errors import UserError
from actviz.formats import SPLITS, write_dataset_h5

PROJECT_LAYOUT = "data.h5"
LEGACY_LAYOUT = ("data.hy", "id.txt")
TEST_IDS = "test_ids.txt"


def find_own_dataset(name, datasets_dir):
    """The folder of own dataset ``name`` under ``datasets_dir`` if it holds a known layout, else None."""
    folder = Path(datasets_dir) / name
    if (folder / PROJECT_LAYOUT).is_file() or (folder / LEGACY_LAYOUT[0]).is_file():
        return folder
    return None


def own_dataset_files(folder):
    """The files a conversion of the own dataset in ``folder`` reads (for the workflow's inputs)."""
    folder = Path(folder)
    if (folder / PROJECT_LAYOUT).is_file():
        return [folder / PROJECT_LAYOUT]
    files = [folder / name for name in LEGACY_LAYOUT]
    return files + ([folder / TEST_IDS] if (folder / TEST_IDS).is_file() else [])


def _pixels(images, where):
    """Check pixel values and return uint8 images (N, H, W, C)."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.number) and images.dtype != bool:
        raise UserError(f"{where}: image data of type {images.dtype} is not numeric")
    if images.dtype.kind == "f":
        if not np.isfinite(images).all():
            bad = int(np.argmin(np.isfinite(images).reshape(len(images), -1).all(axis=1)))
            raise UserError(f"{where}: image {bad} has NaN or infinite pixels")
        if images.size and images.max() <= 1.0 and images.min() >= 0.0:
            images = images * 255.0
    if images.size and (images.min() < 0 or images.max() > 255):
        raise UserError(f"{where}: pixel values outside 0..255 (min {images.min()}, max {images.max()})")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise UserError(f"{where}: images must be N x H x W x C, got shape {images.shape}")
    return np.rint(images).astype(np.uint8)


def _read_project_layout(folder):
    path = folder / PROJECT_LAYOUT
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise UserError(f"{path}: cannot read HDF5 file ({error})") from None
    with f:
        splits = {}
        for split in SPLITS:
            for key in ("images", "labels"):
                if f"{split}/{key}" not in f:
                    raise UserError(f"{path}: missing dataset {split}/{key}")
            images = _pixels(f[split]["images"][:], f"{path}: {split}/images")
            labels = f[split]["labels"][:]
            if labels.ndim != 1 or len(labels) != len(images):
                raise UserError(f"{path}: {split}/labels must be {len(images)} integers, got shape "
                                f"{labels.shape}")
            if labels.dtype.kind not in "iu":
                raise UserError(f"{path}: {split}/labels must be integers, got {labels.dtype}")
            splits[split] = (images, labels)
        classes = f.attrs.get("classes")
    if classes is not None:
        classes = json.loads(classes)
    return splits, classes, path


def _read_ids(path):
    if not path.is_file():
        raise UserError(f"{path}: not found")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    seen = set()
    for number, id_ in enumerate(ids, start=1):
        if id_ in seen:
            raise UserError(f"{path}: id {id_!r} listed twice (line {number})")
        seen.add(id_)
    return ids


def _read_legacy_layout(folder, test_fraction, seed):
    data_path, ids_path = (folder / name for name in LEGACY_LAYOUT)
    ids = _read_ids(ids_path)
    if not ids:
        raise UserError(f"{ids_path}: no ids (empty dataset)")
    try:
        f = h5py.File(data_path, "r")
    except OSError as error:
        raise UserError(f"{data_path}: cannot read HDF5 file ({error})") from None
    images, labels = [], []
    with f:
        for id_ in ids:
            if id_ not in f:
                raise UserError(f"{data_path}: id {id_!r} from {ids_path.name} is not in the file")
            group = f[id_]
            for key in ("image", "label"):
                if not isinstance(group, h5py.Group) or key not in group:
                    raise UserError(f"{data_path}: id {id_!r} has no {key!r}")
            image, label = group["image"][()], np.asarray(group["label"][()])
            if images and image.shape != images[0].shape:
                raise UserError(f"{data_path}: id {id_!r} has an image of shape {image.shape}, "
                                f"id {ids[0]!r} one of shape {images[0].shape}")
            if labels and label.shape != labels[0].shape:
                raise UserError(f"{data_path}: id {id_!r} has a label of {label.size} entries, "
                                f"id {ids[0]!r} one of {labels[0].size}")
            values = label.astype(np.float64).ravel()
            if label.ndim != 1 or np.count_nonzero(values) != 1 or values.max() != 1:
                raise UserError(f"{data_path}: id {id_!r} has label {values.tolist()}, not one-hot")
            images.append(image)
            labels.append(label)
            if image.dtype.kind == "f" and not np.isfinite(image).all():
                raise UserError(f"{data_path}: id {id_!r} has NaN or infinite pixels")
            if image.size and (image.min() < 0 or image.max() > 255):
                raise UserError(f"{data_path}: id {id_!r} has pixel values outside 0..255 "
                                f"(min {image.min()}, max {image.max()})")
    images = _pixels(np.stack(images), f"{data_path}")
    labels = np.argmax(np.stack(labels), axis=1)

    test_path = folder / TEST_IDS
    if test_path.is_file():
        test_ids = set(_read_ids(test_path))
        unknown = sorted(test_ids - set(ids))
        if unknown:
            raise UserError(f"{test_path}: id {unknown[0]!r} is not in {ids_path.name}")
        is_test = np.array([id_ in test_ids for id_ in ids])
    else:
        if not 0 < test_fraction < 1:
            raise UserError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        order = np.random.default_rng(seed).permutation(len(ids))
        is_test = np.zeros(len(ids), bool)
        is_test[order[: int(round(test_fraction * len(ids)))]] = True
    splits = {"train": (images[~is_test], labels[~is_test]), "test": (images[is_test], labels[is_test])}
    return splits, None, data_path


def convert_own(name, folder, out_path, test_fraction=0.2, seed=0):
    """Check the own dataset in ``folder`` and write it in the project's HDF5 layout to ``out_path``."""
    folder = Path(folder)
    if (folder / PROJECT_LAYOUT).is_file():
        splits, classes, source = _read_project_layout(folder)
    elif (folder / LEGACY_LAYOUT[0]).is_file():
        splits, classes, source = _read_legacy_layout(folder, test_fraction, seed)
    else:
        raise UserError(f"{folder}: no {PROJECT_LAYOUT} or {LEGACY_LAYOUT[0]} + {LEGACY_LAYOUT[1]} here")
    for split, (images, labels) in splits.items():
        if len(images) == 0:
            raise UserError(f"{source}: the {split} split is empty")
    shapes = {split: images.shape[1:] for split, (images, _) in splits.items()}
    if shapes["train"] != shapes["test"]:
        raise UserError(f"{source}: train images are {shapes['train']}, test images {shapes['test']}")
    num_classes = int(max(labels.max() for _, labels in splits.values())) + 1
    if classes is None:
        classes = [str(c) for c in range(num_classes)]
    num_classes = len(classes)
    for split, (_, labels) in splits.items():  # name the user's file, not the one being written
        if labels.min() < 0 or labels.max() >= num_classes:
            raise UserError(f"{source}: {split} labels outside 0..{num_classes - 1}")
    height, width, channels = shapes["train"]
    write_dataset_h5(out_path, splits, {
        "name": name, "classes": list(classes), "num_classes": num_classes, "height": height,
        "width": width, "channels": channels, "description": f"Own dataset from {folder}",
        "homepage": "", "license": "", "checksums": {
            p.name: "sha256:" + _sha256(p) for p in own_dataset_files(folder)},
    })
    return {split: len(labels) for split, (_, labels) in splits.items()}


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def resolve_dataset(name, datasets_dir):
    """``("builtin", DatasetSpec)`` or ``("own", folder)`` for ``name``; a ``UserError`` if neither."""
    if name in DATASETS:
        return "builtin", DATASETS[name]
    folder = find_own_dataset(name, datasets_dir)
    if folder is None:
        raise UserError(f"unknown dataset {name!r}: not one of {', '.join(DATASETS)}, and "
                        f"{Path(datasets_dir) / name} holds neither {PROJECT_LAYOUT} nor "
                        f"{LEGACY_LAYOUT[0]} + {LEGACY_LAYOUT[1]}")
    return "own", folder

