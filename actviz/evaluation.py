"""Evaluating a model on a whole split: loss, accuracy, each image's correctness, predicted class and class
probabilities, and the confusion matrix. One function for training's evaluations and for scripts/evaluate.py (any
checkpoint on any converted dataset); one writer and one reader of the predictions file (predictions.h5)."""

import base64
from dataclasses import dataclass

import numpy as np

from actviz.atomic import atomic_path
from actviz.errors import UserError

EVAL_BATCH = 1000


@dataclass
class Evaluation:
    """The result of evaluating on ``len(labels)`` images."""

    loss: float  # mean cross-entropy
    labels: np.ndarray  # the true class of each image
    predictions: np.ndarray  # the predicted class of each image
    probabilities: np.ndarray = None  # [image, class] softmax, float16 (enough for churn and calibration)

    @property
    def accuracy(self):
        return int(self.correct.sum()) / len(self.labels)

    @property
    def correct(self):
        return self.predictions == self.labels

    def confusion(self, num_classes):
        """[true class, predicted class] -> number of images."""
        return np.bincount(self.labels * num_classes + self.predictions,
                           minlength=num_classes * num_classes).reshape(num_classes, num_classes)

    def summary(self, num_classes):
        """JSON-ready: size, loss, accuracy, confusion matrix and each image's correctness (packed bits)."""
        return {"images": len(self.labels), "loss": self.loss, "accuracy": self.accuracy,
                "confusion": self.confusion(num_classes).tolist(), "correct": pack_bits(self.correct)}


def pack_bits(flags):
    """A boolean array as base64 of its bits (8 images a byte): small enough for a run's metrics.json."""
    return base64.b64encode(np.packbits(np.asarray(flags, dtype=bool)).tobytes()).decode("ascii")


def unpack_bits(text, size):
    """The boolean array of ``size`` that ``pack_bits`` encoded."""
    return np.unpackbits(np.frombuffer(base64.b64decode(text), np.uint8), count=size).astype(bool)


class Evaluator:
    """Evaluates ``model`` (logits out) batch by batch, compiled once; call it with (images, labels) batches."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def step(images, labels):
            logits = model(images, training=False)
            loss = loss_fn(labels, logits) * tf.cast(tf.shape(labels)[0], tf.float32)
            probabilities = tf.nn.softmax(tf.cast(logits, tf.float32))
            return loss, tf.argmax(logits, 1, output_type=tf.int32), probabilities

        self.step = step

    def __call__(self, batches):
        total_loss, labels, predictions, probabilities = 0.0, [], [], []
        for images, batch_labels in batches:
            loss, predicted, batch_probabilities = self.step(images, batch_labels)
            total_loss += float(loss)
            labels.append(np.asarray(batch_labels))
            predictions.append(predicted.numpy())
            probabilities.append(batch_probabilities.numpy().astype(np.float16))
        labels = np.concatenate(labels).astype(np.int64)
        return Evaluation(total_loss / len(labels), labels, np.concatenate(predictions).astype(np.int64),
                          np.concatenate(probabilities))


PREDICTION_DATASETS = ("labels", "predicted", "probabilities")


def write_predictions(path, evaluation, num_classes, **attributes):
    """An evaluation's true and predicted class and class probabilities (float16) of every image, as whole HDF5
    datasets, atomically; ``attributes`` (the run, the split, the step) go beside them. ``evaluation`` None (a
    diverged run) writes no image and ``diverged`` true: the file is there, and says there is nothing to compare."""
    import h5py

    if evaluation is None:
        labels = predicted = np.zeros(0, np.int16)
        probabilities = np.zeros((0, num_classes), np.float16)
    else:
        labels, predicted = evaluation.labels.astype(np.int16), evaluation.predictions.astype(np.int16)
        probabilities = evaluation.probabilities.astype(np.float16)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, values in zip(PREDICTION_DATASETS, (labels, predicted, probabilities)):
            f.create_dataset(name, data=values, compression="gzip" if len(values) else None)
        for key, value in {**attributes, "diverged": evaluation is None}.items():
            f.attrs[key] = "" if value is None else value


def read_predictions(path):
    """A predictions file as {"labels", "predicted": int arrays, "probabilities": [image, class] float16, and its
    attributes}; ``UserError`` if it is not one."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in PREDICTION_DATASETS if name not in f]
            if missing:
                raise UserError(f"{path}: not a predictions file (no {', '.join(missing)})")
            return {**{key: (value.item() if hasattr(value, "item") else value) for key, value in f.attrs.items()},
                    **{name: f[name][()] for name in PREDICTION_DATASETS}}
    except OSError as error:
        raise UserError(f"{path}: cannot read predictions ({error})") from None


def in_batches(images, labels, size=EVAL_BATCH):
    """(images, labels) of in-memory arrays, ``size`` at a time."""
    for begin in range(0, len(labels), size):
        yield images[begin:begin + size], labels[begin:begin + size]


def evaluate_checkpoint(checkpoint_dir, h5_path, split="test", threads=None, predictions_path=None):
    """The newest checkpoint in ``checkpoint_dir`` evaluated on a split of the converted dataset
    ``h5_path`` (read batch by batch): a JSON-ready dict with the run, the step, per-class accuracy
    and ``Evaluation.summary``; with ``predictions_path``, every image's prediction written there as a run writes
    its own (``write_predictions``)."""
    from actviz.formats import SPLITS, read_info, read_split, split_batches
    from actviz.runs import configure_threads, restore_model, run_ident, run_name
    from actviz.splits import split_train

    if split not in (*SPLITS, "validation"):
        raise UserError(f"unknown split {split!r}; known: {', '.join((*SPLITS, 'validation'))}")
    info = read_info(h5_path)
    if threads:
        configure_threads(threads)
    model, run, checkpoint, step = restore_model(checkpoint_dir, info)
    if split == "validation":  # the run's own held-out train images, found again and checked
        if "validation_size" not in run:
            raise UserError(f"{checkpoint_dir} was trained before runs held out a validation split")
        if run["checksums"] != info["checksums"]:
            raise UserError(f"{checkpoint_dir} was trained on other data than {h5_path}: its validation split is "
                            f"part of that data's train split")
        _, (images, labels), record = split_train(*read_split(h5_path, "train"), run["validation_size"])
        if record["indices_sha256"] != run.get("validation_sha256", record["indices_sha256"]):
            raise UserError(f"{checkpoint_dir}: the validation images drawn now differ from those it was trained "
                            f"without (checksum {run['validation_sha256'][:12]}…)")
        batches = in_batches(images, labels)
    else:
        batches = split_batches(h5_path, split, EVAL_BATCH)
    evaluation = Evaluator(model)(batches)
    if predictions_path:
        write_predictions(predictions_path, evaluation, info["num_classes"], run=run_name(**run_ident(run)),
                          split=split, step=step, dataset=info["name"])
    summary = evaluation.summary(info["num_classes"])
    confusion = np.array(summary["confusion"])
    classes = info.get("classes") or [str(c) for c in range(info["num_classes"])]
    return {"checkpoint": checkpoint, "step": step, "run": run_ident(run),
            "dataset": info["name"], "split": split, "classes": classes,
            "per_class_accuracy": [float(c) if n else None for c, n in zip(
                np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1), confusion.sum(axis=1))],
            **summary}
