"""On-disk formats: the upstream IDX format and the project's HDF5 dataset layout.

HDF5 layout (one file per dataset, whole arrays, chunked and compressed)::

    /train/images  uint8  N x H x W x C   (chunks of 1,024 images, LZF-compressed)
    /train/labels  int32  N
    /test/images   uint8  M x H x W x C
    /test/labels   int32  M
    attrs: name, classes (JSON list), num_classes, height, width, channels,
           description, homepage, license, checksums (JSON: file -> checksum)
"""

import gzip
import json
import os
from pathlib import Path

import h5py
import numpy as np

from actviz.atomic import atomic_path
from actviz.errors import UserError

SPLITS = ("train", "test")

# IDX type codes, from the format's description on the MNIST page.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype: code for code, dtype in _IDX_DTYPES.items()}


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        is_gzip = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if is_gzip else open(path, "rb")


def read_idx(path):
    """Read an IDX file (plain or gzip-compressed) into a numpy array of its declared shape."""
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise UserError(f"{path}: cannot read IDX file ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{path}: IDX header truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(f"{path}: IDX body has {len(raw) - header} bytes, "
                        f"its header {shape} promises {expected}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` as IDX; gzip-compressed (with a fixed timestamp) when ``path`` ends in .gz."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in _IDX_CODES:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, _IDX_CODES[big], array.ndim])
    header += np.asarray(array.shape, ">u4").tobytes()
    body = header + array.astype(big).tobytes()
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".gz":
            # mtime=0 and no file name keep the archive byte-identical across runs.
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
                f.write(body)
        else:
            tmp.write_bytes(body)


def write_dataset_h5(path, splits, attrs):
    """Write ``splits`` ({split: (images uint8 NxHxWxC, labels)}) and ``attrs`` to one HDF5 file.

    Labels must lie in 0..num_classes-1 when ``attrs`` gives ``num_classes``. The file appears
    only once complete.
    """
    try:
        _write_dataset_h5(path, splits, attrs)
    except OSError as error:  # a full disk, a quota, a read-only folder: nothing is left behind
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UserError(f"{path}: cannot write ({reason})") from None


def _write_dataset_h5(path, splits, attrs):
    num_classes = attrs.get("num_classes")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for split, (images, labels) in splits.items():
            images = np.asarray(images)
            labels = np.asarray(labels)
            if images.dtype != np.uint8 or images.ndim != 4:
                raise ValueError(f"{split} images must be uint8 N x H x W x C, got "
                                 f"{images.dtype} {images.shape}")
            if len(images) != len(labels):
                raise UserError(f"{path}: {split} has {len(images)} images but {len(labels)} labels")
            if num_classes and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
                raise UserError(f"{path}: {split} labels outside 0..{num_classes - 1}")
            group = f.create_group(split)
            chunk = (min(len(images), 1024),) + images.shape[1:]
            # h5py's LZF: 3x faster to write than gzip for 10% more bytes (bench/convert_benchmark.py).
            group.create_dataset("images", data=images, chunks=chunk, compression="lzf", shuffle=True)
            group.create_dataset("labels", data=labels.astype(np.int32),
                                 chunks=(min(len(labels), 65536),), compression="lzf")
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (list, dict, tuple)) else value


def read_info(path):
    """Return the dataset's attributes (JSON ones decoded), the size of each split and the image shape."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: dataset file not found (run the download step first)")
    with h5py.File(path, "r") as f:
        info = {}
        for key, value in f.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            if key in ("classes", "checksums"):
                value = json.loads(value)
            info[key] = value.item() if hasattr(value, "item") else value
        for split in SPLITS:
            info[f"{split}_size"] = int(f[split]["labels"].shape[0])
        info["image_shape"] = [int(d) for d in f["test"]["images"].shape[1:]]
    return info


def read_split(path, split, limit=None):
    """Return ``(images, labels)`` of one split as numpy arrays (the first ``limit`` if given)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    with h5py.File(path, "r") as f:
        end = None if limit is None else int(limit)
        return f[split]["images"][:end], f[split]["labels"][:end]


def split_batches(path, split, batch_size, limit=None):
    """Yield ``(images, labels)`` of one split in batches of ``batch_size`` (up to ``limit`` images),
    each read from the file when it is needed, so that memory does not grow with the split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    with h5py.File(path, "r") as f:
        images, labels = f[split]["images"], f[split]["labels"]
        end = len(labels) if limit is None else min(int(limit), len(labels))
        for begin in range(0, end, batch_size):
            stop = min(begin + batch_size, end)
            yield images[begin:stop], labels[begin:stop]
