"""The validation split: held out of the train split, stratified, the same for every run of a dataset, never
in a training batch nor in the test split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actviz.errors import UserError
from actviz.settings import TrainSettings
from actviz.splits import split_train, validation_count, validation_indices, validation_problem


def _labelled_images(train=1000, test=200, classes=(0.5, 0.3, 0.2)):
    """Images whose pixels spell their own number (train 0.., test from 100000), labels in the given shares."""
    numbers = np.arange(train + test) + np.r_[np.zeros(train, int), np.full(test, 100000 - train)]
    images = np.stack([numbers % 256, numbers // 256 % 256, numbers // 65536], axis=1).astype(np.uint8)
    images = images.reshape(-1, 1, 3, 1)
    labels = np.repeat(np.arange(len(classes)), np.round(np.array(classes) * (train + test)).astype(int))
    labels = np.random.default_rng(5).permutation(labels)
    return (images[:train], labels[:train]), (images[train:], labels[train:])


def _number(image):
    flat = image.reshape(-1).astype(np.int64)
    return int(flat[0] + 256 * flat[1] + 65536 * flat[2])


def test_a_fraction_or_a_count_of_the_train_images_is_held_out():
    assert validation_count(0.1, 10000) == 1000 and validation_count(1000, 60000) == 1000
    assert validation_count(0.1, 7) == 1 and validation_count(0.05, 7) == 0


@given(shares=st.lists(st.integers(1, 50), min_size=1, max_size=10), size=st.floats(0.01, 0.9))
@settings(max_examples=200, derandomize=True, database=None, deadline=None)
def test_the_held_out_images_are_stratified_by_class(shares, size):
    labels = np.repeat(np.arange(len(shares)), shares)
    count = validation_count(size, len(labels))
    if not 0 < count < len(labels):
        with pytest.raises(UserError):
            validation_indices(labels, size)
        return
    held = validation_indices(labels, size)
    assert len(held) == len(set(held)) == count and (np.diff(held) > 0).all()
    for label, share in enumerate(shares):  # each class within one image of its share
        assert abs(np.count_nonzero(labels[held] == label) - share * count / len(labels)) < 1


def test_every_run_of_a_dataset_holds_out_the_same_images_whatever_its_seed():
    (images, labels), _ = _labelled_images()
    first = split_train(images, labels, 0.1)[2]
    again = split_train(images.copy(), labels.copy(), 0.1)[2]
    assert first == again and first["images"] == 100 and len(first["indices_sha256"]) == 64
    assert split_train(images, labels, 0.2)[2]["indices_sha256"] != first["indices_sha256"]


def test_no_validation_image_is_ever_in_a_training_batch_nor_in_the_test_split():
    from actviz.training import TrainingRun

    train, test = _labelled_images()
    held = {_number(image) for image in train[0][validation_indices(train[1], 0.1)]}
    seen = set()
    for seed in (0, 1):  # the data side of a run (no model): its batches over many epochs
        run = TrainingRun("data.h5", "relu", TrainSettings(seed=seed, batch_size=32, validation_size=0.1),
                          {"name": "numbers"}, train, test)
        assert {_number(image) for image in run.validation_images} == held
        batches = run.batches(0)
        for _ in range(300):  # 300 batches of 32: more than 10 epochs of the 900 images trained on
            images, _ = next(batches)
            seen |= {_number(image) for image in images}
    assert seen.isdisjoint(held) and len(seen) == 900  # every other train image is trained on
    assert held.isdisjoint({_number(image) for image in test[0]})


@pytest.mark.parametrize("size, words", [
    (0.0001, "holds out no image"), (1000, "are not fewer than the 1000 train images"),
    (980, "leaves 20, fewer than one batch of 32"), (2.5, "a count of images is a whole number")])
def test_a_validation_size_that_does_not_fit_is_named(size, words):
    assert words in validation_problem(size, 1000, 32)
    assert validation_problem(0.1, 1000, 32) is None and validation_problem(100, 1000, 32) is None


def test_a_run_refuses_a_validation_split_that_leaves_no_batch():
    from actviz.training import TrainingRun

    train, test = _labelled_images()
    with pytest.raises(UserError, match="validation_size: holding out 990 of 1000 train images leaves 10"):
        TrainingRun("data.h5", "relu", TrainSettings(batch_size=32, validation_size=990), {"name": "x"}, train, test)
