"""The IDX reader/writer and the project's HDF5 dataset layout."""

import gzip

import h5py
import numpy as np
import pytest

from actviz.errors import UserError
from actviz.formats import read_idx, read_info, read_split, split_batches, write_dataset_h5, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip_keeps_values_shape_and_dtype(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian_as_upstream(tmp_path):
    write_idx(tmp_path / "labels.idx", np.array([1, 2, 3], dtype=np.uint8))
    raw = (tmp_path / "labels.idx").read_bytes()
    # magic 0x00000801 then the count 3, as in MNIST's train-labels-idx1-ubyte
    assert raw[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3]) and raw[8:] == bytes([1, 2, 3])


def test_idx_gzip_is_byte_identical_across_writes(tmp_path):
    array = np.arange(100, dtype=np.uint8).reshape(10, 10)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_idx_reader_rejects_bad_magic(tmp_path):
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "bad.gz")


def test_idx_reader_rejects_truncated_body(tmp_path):
    write_idx(tmp_path / "a.idx", np.zeros((5, 28, 28), np.uint8))
    data = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "a.idx").write_bytes(data[:-10])
    with pytest.raises(UserError, match="promises"):
        read_idx(tmp_path / "a.idx")


def test_idx_reader_rejects_corrupt_gzip(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((50, 28, 28), np.uint8))
    data = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "a.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cannot read"):
        read_idx(tmp_path / "a.gz")


def _splits(n_train=50, n_test=20, shape=(28, 28, 1)):
    rng = np.random.default_rng(1)
    return {
        "train": (rng.integers(0, 256, (n_train, *shape), dtype=np.uint8), np.arange(n_train) % 10),
        "test": (rng.integers(0, 256, (n_test, *shape), dtype=np.uint8), np.arange(n_test) % 10),
    }


def test_h5_holds_whole_chunked_compressed_arrays_and_metadata(tmp_path):
    splits = _splits()
    write_dataset_h5(tmp_path / "d.h5", splits, {"name": "d", "classes": list("abcdefghij"),
                                                 "num_classes": 10, "checksums": {"f": "x"}})
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert set(f) == {"train", "test"}
        assert set(f["train"]) == {"images", "labels"}  # whole arrays, never a group per image
        images = f["train"]["images"]
        assert images.dtype == np.uint8 and images.shape == (50, 28, 28, 1)
        assert images.chunks == (50, 28, 28, 1) and images.compression == "lzf"
        assert f["test"]["labels"].dtype == np.int32
    info = read_info(tmp_path / "d.h5")
    assert info["classes"] == list("abcdefghij") and info["checksums"] == {"f": "x"}
    assert info["train_size"] == 50 and info["test_size"] == 20
    images, labels = read_split(tmp_path / "d.h5", "test")
    np.testing.assert_array_equal(images, splits["test"][0])
    np.testing.assert_array_equal(labels, splits["test"][1])
    assert len(read_split(tmp_path / "d.h5", "train", limit=7)[0]) == 7


def test_h5_writer_leaves_no_file_when_it_fails(tmp_path):
    splits = _splits()
    splits["test"] = (splits["test"][0], splits["test"][1][:5])  # 20 images, 5 labels
    with pytest.raises(UserError, match="20 images but 5 labels"):
        write_dataset_h5(tmp_path / "d.h5", splits, {"name": "d"})
    assert list(tmp_path.iterdir()) == []


def test_read_info_names_a_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_info(tmp_path / "missing.h5")


def test_h5_writer_refuses_labels_outside_the_classes(tmp_path):
    splits = _splits()
    with pytest.raises(UserError, match="train labels outside 0..4"):
        write_dataset_h5(tmp_path / "d.h5", splits, {"num_classes": 5})
    assert not (tmp_path / "d.h5").exists()


@pytest.mark.parametrize("limit, sizes", [(None, [4, 4, 2]), (7, [4, 3]), (4, [4]), (100, [4, 4, 2])])
def test_split_batches_read_the_split_in_order_up_to_the_limit(tmp_path, limit, sizes):
    images = np.arange(10 * 2 * 2 * 1, dtype=np.uint8).reshape(10, 2, 2, 1)
    write_dataset_h5(tmp_path / "d.h5", {"train": (images, np.arange(10) % 3), "test": (images, np.arange(10) % 3)},
                     {"name": "d", "num_classes": 3})
    batches = list(split_batches(tmp_path / "d.h5", "test", 4, limit=limit))
    assert [len(b[0]) for b in batches] == sizes
    assert (np.concatenate([b[0] for b in batches]) == images[:sum(sizes)]).all()
    assert (np.concatenate([b[1] for b in batches]) == (np.arange(10) % 3)[:sum(sizes)]).all()
    assert read_info(tmp_path / "d.h5")["image_shape"] == [2, 2, 1]
