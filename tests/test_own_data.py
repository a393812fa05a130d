"""Own datasets in both layouts: conversion, splits, and one clear line for every malformed case."""

import h5py
import numpy as np
import pytest
from helpers import write_legacy_layout

from actviz.errors import UserError
from actviz.formats import read_info, read_split, write_dataset_h5
from actviz.own_data import convert_own, find_own_dataset, resolve_dataset


def _legacy(folder, n=20, shape=(12, 12, 3), classes=5, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    labels = np.arange(n) % classes
    write_legacy_layout(folder, images, labels, classes)
    return images, labels


def test_legacy_layout_converts_with_a_seeded_test_fraction(tmp_path):
    images, labels = _legacy(tmp_path / "mine", n=50)
    assert find_own_dataset("mine", tmp_path) == tmp_path / "mine"
    assert convert_own("mine", tmp_path / "mine", tmp_path / "a.h5", test_fraction=0.2) == {"train": 40, "test": 10}
    train_x, train_y = read_split(tmp_path / "a.h5", "train")
    test_x, test_y = read_split(tmp_path / "a.h5", "test")
    # every image lands in exactly one split, with its own label
    together = np.concatenate([train_x, test_x]).reshape(50, -1)
    order = [int(np.flatnonzero((images.reshape(50, -1) == row).all(axis=1))[0]) for row in together]
    assert sorted(order) == list(range(50))
    np.testing.assert_array_equal(np.concatenate([train_y, test_y]), labels[order])
    info = read_info(tmp_path / "a.h5")
    assert (info["height"], info["width"], info["channels"], info["num_classes"]) == (12, 12, 3, 5)
    convert_own("mine", tmp_path / "mine", tmp_path / "b.h5", test_fraction=0.2)
    np.testing.assert_array_equal(read_split(tmp_path / "b.h5", "test")[0], test_x)  # same split again


def test_legacy_layout_uses_test_ids_when_given(tmp_path):
    images, _ = _legacy(tmp_path / "mine", n=10, shape=(8, 8))
    (tmp_path / "mine" / "test_ids.txt").write_text("3\n7\n")
    assert convert_own("mine", tmp_path / "mine", tmp_path / "a.h5") == {"train": 8, "test": 2}
    test_x, test_y = read_split(tmp_path / "a.h5", "test")
    np.testing.assert_array_equal(test_x[..., 0], images[[3, 7]])  # [h, w] images get a channel
    assert test_y.tolist() == [3, 2]


def test_float_images_in_0_to_1_are_scaled_to_bytes(tmp_path):
    folder = tmp_path / "mine"
    _legacy(folder, n=4, shape=(4, 4, 1), classes=2)
    with h5py.File(folder / "data.hy", "a") as f:
        for i in range(4):
            del f[str(i)]["image"]
            f[str(i)]["image"] = np.full((4, 4, 1), 0.5)
    convert_own("mine", folder, tmp_path / "a.h5", test_fraction=0.5)
    assert set(np.unique(read_split(tmp_path / "a.h5", "train")[0])) == {128}


def test_project_layout_keeps_its_splits_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mine"
    folder.mkdir()
    splits = {s: (rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8), np.arange(n) % 3)
              for s, n in (("train", 30), ("test", 9))}
    write_dataset_h5(folder / "data.h5", splits, {"classes": ["cat", "dog", "owl"]})
    assert resolve_dataset("mine", tmp_path) == ("own", folder)
    assert convert_own("mine", folder, tmp_path / "a.h5") == {"train": 30, "test": 9}
    np.testing.assert_array_equal(read_split(tmp_path / "a.h5", "test")[0], splits["test"][0])
    info = read_info(tmp_path / "a.h5")
    assert info["classes"] == ["cat", "dog", "owl"] and info["name"] == "mine"


def _rewrite(folder, id_, key, value):
    with h5py.File(folder / "data.hy", "a") as f:
        del f[id_][key]
        if value is not None:
            f[id_][key] = value


def _break_project_layout(folder, change):
    rng = np.random.default_rng(0)
    splits = {s: (rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8), np.arange(6) % 2) for s in ("train", "test")}
    folder.mkdir(parents=True)
    write_dataset_h5(folder / "data.h5", splits, {})
    with h5py.File(folder / "data.h5", "a") as f:
        change(f)


MALFORMED = {
    "id.txt missing": (lambda d: (d / "id.txt").unlink(), r"id\.txt: not found"),
    "empty dataset": (lambda d: (d / "id.txt").write_text(""), r"id\.txt: no ids \(empty dataset\)"),
    "id listed twice": (lambda d: (d / "id.txt").write_text("0\n1\n0\n"), r"id\.txt: id '0' listed twice"),
    "id absent from the file": (lambda d: (d / "id.txt").write_text("0\n1\n99\n"),
                                r"data\.hy: id '99' from id\.txt is not in the file"),
    "missing label": (lambda d: _rewrite(d, "4", "label", None), r"data\.hy: id '4' has no 'label'"),
    "missing image": (lambda d: _rewrite(d, "5", "image", None), r"data\.hy: id '5' has no 'image'"),
    "images of different shapes": (lambda d: _rewrite(d, "3", "image", np.zeros((12, 11, 3), np.uint8)),
                                   r"data\.hy: id '3' has an image of shape \(12, 11, 3\)"),
    "label not one-hot": (lambda d: _rewrite(d, "2", "label", np.array([1, 1, 0, 0, 0], bool)),
                          r"data\.hy: id '2' has label \[1\.0, 1\.0, 0\.0, 0\.0, 0\.0\], not one-hot"),
    "label all zero": (lambda d: _rewrite(d, "2", "label", np.zeros(5)), r"data\.hy: id '2' .* not one-hot"),
    "label of another length": (lambda d: _rewrite(d, "6", "label", np.eye(9)[0]),
                                r"data\.hy: id '6' has a label of 9 entries"),
    "NaN pixel": (lambda d: _rewrite(d, "1", "image", np.full((12, 12, 3), np.nan)),
                  r"data\.hy: id '1' has NaN or infinite pixels"),
    "infinite pixel": (lambda d: _rewrite(d, "7", "image", np.full((12, 12, 3), np.inf)),
                       r"data\.hy: id '7' has NaN or infinite pixels"),
    "pixel above 255": (lambda d: _rewrite(d, "0", "image", np.full((12, 12, 3), 300.0)),
                        r"data\.hy: id '0' has pixel values outside 0\.\.255"),
    "unknown test id": (lambda d: (d / "test_ids.txt").write_text("1\nx7\n"),
                        r"test_ids\.txt: id 'x7' is not in id\.txt"),
    "everything in the test split": (lambda d: (d / "test_ids.txt").write_text("".join(f"{i}\n" for i in range(20))),
                                     r"data\.hy: the train split is empty"),
    "not an HDF5 file": (lambda d: (d / "data.hy").write_bytes(b"plain text"), r"data\.hy: cannot read HDF5 file"),
    "image stored as a string": (lambda d: _rewrite(d, "3", "image", "a picture"),
                                 r"data\.hy: id '3': image must hold numbers, got object"),
    "image stored as a group": (lambda d: (_rewrite(d, "3", "image", None), _group(d, "3/image")),
                                r"data\.hy: id '3': image is a group, not an array"),
    "label as a scalar": (lambda d: _rewrite(d, "8", "label", 1),
                          r"data\.hy: id '8': label has shape \(\); expected 1 dimensions"),
    "id.txt not UTF-8": (lambda d: (d / "id.txt").write_bytes(b"0\n1\n\xff\xfe2\n"),
                         r"id\.txt: not UTF-8 text \(line 3\)"),
}


def _group(folder, name):
    with h5py.File(folder / "data.hy", "a") as f:
        f.create_group(name)


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_legacy_dataset_is_one_line_naming_file_and_id(tmp_path, case):
    _legacy(tmp_path / "mine")
    damage, message = MALFORMED[case]
    damage(tmp_path / "mine")
    with pytest.raises(UserError, match=message) as error:
        convert_own("mine", tmp_path / "mine", tmp_path / "a.h5")
    assert "\n" not in str(error.value) and str(tmp_path / "mine") in str(error.value)
    assert not (tmp_path / "a.h5").exists()


PROJECT_MALFORMED = {
    "missing labels": (lambda f: f["test"].pop("labels"), "missing dataset test/labels"),
    "float labels": (lambda f: (f["train"].pop("labels"), f["train"].create_dataset("labels", data=np.zeros(6))),
                     "train/labels must hold integers, got float64"),
    "label count": (lambda f: (f["train"].pop("labels"), f["train"].create_dataset("labels", data=np.zeros(4, int))),
                    "train/labels must be 6 integers"),
    "negative label": (lambda f: (f["test"].pop("labels"), f["test"].create_dataset("labels", data=-np.ones(6, int))),
                       "test labels outside"),
    "shapes differ": (lambda f: (f["test"].pop("images"),
                                 f["test"].create_dataset("images", data=np.zeros((6, 9, 9, 1), np.uint8))),
                      r"train images are \(8, 8, 1\), test images \(9, 9, 1\)"),
    "NaN pixel": (lambda f: (f["test"].pop("images"),
                             f["test"].create_dataset("images", data=np.full((6, 8, 8, 1), np.nan))),
                  "test/images: image 0 has NaN or infinite pixels"),
    "images a scalar": (lambda f: (f["train"].pop("images"), f["train"].create_dataset("images", data=7)),
                        r"train/images has shape \(\); expected 3 or 4 dimensions"),
    "images a group": (lambda f: (f["train"].pop("images"), f["train"].create_group("images")),
                       "train/images is a group, not an array"),
    "split a dataset": (lambda f: (f.pop("test"), f.create_dataset("test", data=[1, 2])),
                        "missing dataset test/images"),
    "classes not JSON": (lambda f: f.attrs.__setitem__("classes", "cat, dog"),
                         "attribute classes is not JSON"),
    "classes not a list": (lambda f: f.attrs.__setitem__("classes", '{"cat": 0, "dog": 1}'),
                           r"attribute classes must be a JSON list of class names, got \{'cat': 0"),
    "classes a number": (lambda f: f.attrs.__setitem__("classes", 2),
                         "attribute classes must be a JSON list of class names, got 2"),
    "too few classes": (lambda f: f.attrs.__setitem__("classes", '["cat"]'), r"train labels outside 0\.\.0"),
    "a huge label": (lambda f: (f["test"].pop("labels"), f["test"].create_dataset("labels", data=[2**40] * 6)),
                     "label 1099511627776 without a classes attribute; at most 10000 classes"),
    "images of no pixels": (lambda f: [(f[s].pop("images"), f[s].create_dataset("images", shape=(6, 8, 0, 1)))
                                       for s in ("train", "test")],
                            r"train/images: images of shape \(8, 0, 1\) hold no pixels"),
}


@pytest.mark.parametrize("case", PROJECT_MALFORMED)
def test_a_malformed_project_layout_dataset_is_one_clear_line(tmp_path, case):
    change, message = PROJECT_MALFORMED[case]
    _break_project_layout(tmp_path / "mine", change)
    with pytest.raises(UserError, match=message) as error:
        convert_own("mine", tmp_path / "mine", tmp_path / "a.h5")
    assert str(tmp_path / "mine" / "data.h5") in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "a.h5").exists()


def test_class_names_may_be_an_array_of_strings(tmp_path):
    _break_project_layout(tmp_path / "mine", lambda f: f.attrs.__setitem__("classes", ["cat", "dog"]))
    convert_own("mine", tmp_path / "mine", tmp_path / "a.h5")
    assert read_info(tmp_path / "a.h5")["classes"] == ["cat", "dog"]


def test_a_folder_without_a_known_layout_is_not_a_dataset(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "images.zip").write_bytes(b"")
    with pytest.raises(UserError, match="holds neither data.h5 nor data.hy"):
        resolve_dataset("mine", tmp_path)
