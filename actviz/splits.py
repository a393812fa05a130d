"""The validation split: train images held out for choosing settings, never trained on, the same for every
run of a dataset (whatever its seed), so that runs and trials are compared on the same images and the
test split is left for the final comparison. No TensorFlow: the workflow's config check uses it too.
"""

import hashlib

import numpy as np

from actviz.errors import UserError

# A fixed seed of the held-out draw, apart from every run's seed: every run of a dataset holds out the same images.
VALIDATION_SEED = 20170608


def validation_count(size, train_images):
    """How many of ``train_images`` a ``validation_size`` holds out: a fraction below 1 of them (rounded to
    the nearest image), or a count of images (1 or more)."""
    return int(size * train_images + 0.5) if size < 1 else int(size)  # halves round up, not to even


def validation_problem(size, train_images, batch_size):
    """What is wrong with holding out ``size`` of ``train_images`` for training batches of ``batch_size``, or None."""
    if size >= 1 and not float(size).is_integer():
        return f"a count of images is a whole number (a fraction is below 1), got {size}"
    count = validation_count(size, train_images)
    if count < 1:
        return f"{size} of {train_images} train images holds out no image"
    if count >= train_images:
        return f"{count} validation images are not fewer than the {train_images} train images"
    if train_images - count < batch_size:
        return (f"holding out {count} of {train_images} train images leaves {train_images - count}, fewer than one "
                f"batch of {batch_size}")
    return None


def validation_indices(labels, size):
    """The sorted indices of the train images held out for validation: ``validation_count`` of them, stratified
    by class (each class's share of them as in ``labels``, the images left over by rounding given to the
    classes with the largest remainders), drawn with ``VALIDATION_SEED``."""
    labels = np.asarray(labels)
    count = validation_count(size, len(labels))
    if not 0 < count < len(labels):
        raise UserError(f"validation_size {size}: {count} of {len(labels)} train images")
    classes, sizes = np.unique(labels, return_counts=True)
    quota = sizes * count / len(labels)
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(-(quota - take), kind="stable")[:count - int(take.sum())]] += 1
    rng = np.random.default_rng(VALIDATION_SEED)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def split_train(images, labels, size):
    """``(train, validation, record)``: the train split's ``(images, labels)`` without the held-out ones,
    those held out, and what identifies them (``validation_record``)."""
    held = validation_indices(labels, size)
    keep = np.ones(len(labels), dtype=bool)
    keep[held] = False
    return (images[keep], labels[keep]), (images[held], labels[held]), validation_record(held, images[held])


def validation_record(indices, images):
    """Which train images were held out (their indices) and SHA-256 checksums of the indices (int64, little
    endian) and of the images' bytes, as a run records them."""
    indices = np.asarray(indices, dtype="<i8")
    return {"images": int(len(indices)), "seed": VALIDATION_SEED, "stratified": "by class",
            "indices_sha256": hashlib.sha256(indices.tobytes()).hexdigest(),
            "images_sha256": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest(),
            "indices": indices.tolist()}
