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
import os
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


# What h5py raises on a damaged file (bad bytes, a truncated file, an unsupported type): a read of the
# user's file turns them into one line naming it.
READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, MemoryError)
NUMBERS = "biuf"  # dtype kinds of pixel values: bool, signed and unsigned integers, floats
MAX_CLASSES = 10_000  # a larger label is taken for a mistake (without `classes`, the largest label sets the count)


def _open(path):
    try:
        return h5py.File(path, "r")
    except READ_ERRORS as error:
        raise UserError(f"{path}: cannot read HDF5 file ({error})") from None


def _member(parent, key, where):
    """``parent[key]`` (a dataset or a group), or None when ``parent`` is no group or has no such member."""
    if not isinstance(parent, h5py.Group):
        return None
    try:
        return parent[key] if key in parent else None
    except READ_ERRORS as error:
        raise UserError(f"{where}: cannot read ({error})") from None


def _array(node, where, kinds, ndims):
    """The values of HDF5 dataset ``node``, which must hold ``kinds`` of numbers in ``ndims`` dimensions."""
    if not isinstance(node, h5py.Dataset):
        raise UserError(f"{where} is a group, not an array" if isinstance(node, h5py.Group)
                        else f"{where} is not an array")
    if node.dtype.kind not in kinds:
        raise UserError(f"{where} must hold {'integers' if kinds == 'iu' else 'numbers'}, got {node.dtype}")
    if node.ndim not in ndims:
        raise UserError(f"{where} has shape {node.shape}; expected {' or '.join(map(str, ndims))} dimensions")
    size = node.size * node.dtype.itemsize
    if size > _memory():
        raise UserError(f"{where} declares {size / 2**30:.0f} GiB, more than this machine's memory")
    try:
        return node[()]
    except READ_ERRORS as error:
        raise UserError(f"{where}: cannot read ({error})") from None


def _memory():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _pixels(images, where):
    """Check pixel values and return uint8 images (N, H, W, C)."""
    images = np.asarray(images)
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
    if 0 in images.shape[1:]:
        raise UserError(f"{where}: images of shape {images.shape[1:]} hold no pixels")
    return np.rint(images).astype(np.uint8)


def _classes(value, where):
    """The class names of attribute ``classes``: a JSON list of names (or an array of strings)."""
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise UserError(f"{where} is not UTF-8 text") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise UserError(f"{where} is not JSON ({error.msg} at character {error.pos})") from None
    elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "OSU":
        value = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in value.tolist()]
    if not (isinstance(value, list) and value and all(isinstance(name, str) for name in value)):
        raise UserError(f"{where} must be a JSON list of class names, got {_short(value)}")
    if len(value) > MAX_CLASSES:
        raise UserError(f"{where} names {len(value)} classes; at most {MAX_CLASSES} are supported")
    return value


def _short(value, limit=60):
    """``value`` as at most ``limit`` characters of Python (numpy values as plain ones)."""
    text = repr(value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_project_layout(folder):
    path = folder / PROJECT_LAYOUT
    with _open(path) as f:
        splits = {}
        for split in SPLITS:
            group = _member(f, split, f"{path}: {split}")
            nodes = {key: _member(group, key, f"{path}: {split}") for key in ("images", "labels")}
            for key, node in nodes.items():
                if node is None:
                    raise UserError(f"{path}: missing dataset {split}/{key}")
            images = _pixels(_array(nodes["images"], f"{path}: {split}/images", NUMBERS, (3, 4)),
                             f"{path}: {split}/images")
            labels = _array(nodes["labels"], f"{path}: {split}/labels", "iu", (1,))
            if len(labels) != len(images):
                raise UserError(f"{path}: {split}/labels must be {len(images)} integers, got shape "
                                f"{labels.shape}")
            splits[split] = (images, labels)
        try:
            classes = f.attrs.get("classes")
        except READ_ERRORS as error:
            raise UserError(f"{path}: cannot read attribute classes ({error})") from None
    if classes is not None:
        classes = _classes(classes, f"{path}: attribute classes")
    return splits, classes, path


def _read_ids(path):
    if not path.is_file():
        raise UserError(f"{path}: not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise UserError(f"{path}: not UTF-8 text (line {line})") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror or error})") from None
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    seen = set()
    for number, id_ in enumerate(ids, start=1):
        if "\0" in id_:
            raise UserError(f"{path}: line {number} holds a NUL character")
        if id_ in seen:
            raise UserError(f"{path}: id {id_!r} listed twice (line {number})")
        seen.add(id_)
    return ids


def _read_legacy_layout(folder, test_fraction, seed):
    data_path, ids_path = (folder / name for name in LEGACY_LAYOUT)
    ids = _read_ids(ids_path)
    if not ids:
        raise UserError(f"{ids_path}: no ids (empty dataset)")
    images, labels = [], []
    with _open(data_path) as f:
        for id_ in ids:
            where = f"{data_path}: id {id_!r}"
            group = _member(f, id_, where)
            if group is None:
                raise UserError(f"{data_path}: id {id_!r} from {ids_path.name} is not in the file")
            found = {key: _member(group, key, where) for key in ("image", "label")}
            for key, node in found.items():
                if node is None:
                    raise UserError(f"{where} has no {key!r}")
            image = _array(found["image"], f"{where}: image", NUMBERS, (2, 3))
            label = _array(found["label"], f"{where}: label", NUMBERS, (1,))
            if images and image.shape != images[0].shape:
                raise UserError(f"{where} has an image of shape {image.shape}, "
                                f"id {ids[0]!r} one of shape {images[0].shape}")
            if labels and label.shape != labels[0].shape:
                raise UserError(f"{where} has a label of {label.size} entries, "
                                f"id {ids[0]!r} one of {labels[0].size}")
            values = label.astype(np.float64).ravel()
            if np.count_nonzero(values) != 1 or values.max() != 1:
                raise UserError(f"{where} has label {_short(values.tolist())}, not one-hot")
            if image.dtype.kind == "f" and not np.isfinite(image).all():
                raise UserError(f"{where} has NaN or infinite pixels")
            if image.size and (image.min() < 0 or image.max() > 255):
                raise UserError(f"{where} has pixel values outside 0..255 "
                                f"(min {image.min()}, max {image.max()})")
            images.append(image)
            labels.append(label)
    images = _pixels(np.stack(images), f"{data_path}")
    labels = np.argmax(np.stack(labels), axis=1)
    if labels.max() >= MAX_CLASSES:
        raise UserError(f"{data_path}: labels of {MAX_CLASSES + 1} or more classes; at most {MAX_CLASSES} "
                        f"are supported")

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
        is_test = _test_draw(len(ids), test_fraction, seed)
    splits = {"train": (images[~is_test], labels[~is_test]), "test": (images[is_test], labels[is_test])}
    return splits, None, data_path


def _test_draw(count, test_fraction, seed):
    """Which of ``count`` ids form the test split without a test_ids.txt: a seeded draw."""
    order = np.random.default_rng(seed).permutation(count)
    is_test = np.zeros(count, bool)
    is_test[order[: int(round(test_fraction * count))]] = True
    return is_test


def split_sizes(name, datasets_dir, test_fraction=0.2, seed=0):
    """Images in the train and test splits of dataset ``name`` (``{"train": n, "test": m}``), read cheaply
    (no pixels) for the config's checks; None where an own dataset cannot tell: its conversion names the
    problem."""
    if name in DATASETS:
        return dict(zip(SPLITS, DATASETS[name].sizes))
    folder = find_own_dataset(name, datasets_dir)
    try:
        if folder is None:
            return None
        if (folder / PROJECT_LAYOUT).is_file():
            with _open(folder / PROJECT_LAYOUT) as f:
                return {split: len(f[split]["labels"]) for split in SPLITS}
        ids = _read_ids(folder / LEGACY_LAYOUT[1])
        if (folder / TEST_IDS).is_file():
            test = len(set(_read_ids(folder / TEST_IDS)) & set(ids))
        else:
            test = int(_test_draw(len(ids), test_fraction, seed).sum())
        return {"train": len(ids) - test, "test": test}
    except (UserError, *READ_ERRORS):
        return None


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
    largest = int(max(labels.max() for _, labels in splits.values()))
    if classes is None and largest >= MAX_CLASSES:
        raise UserError(f"{source}: label {largest} without a classes attribute; at most {MAX_CLASSES} classes "
                        f"are supported")
    num_classes = largest + 1
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

