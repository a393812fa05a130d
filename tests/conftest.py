"""Shared fixtures: generated datasets in the upstream IDX format and a local HTTP server."""

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from actviz.data import write_idx  # noqa: E402
from actviz.datasets import IDX_FILES  # noqa: E402


def make_idx_dataset(folder, train=60, test=20, classes=10, seed=0):
    """Write the four IDX .gz files of a small random MNIST-shaped dataset into ``folder``."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    arrays = {}
    for split, n in (("train", train), ("test", test)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % classes).astype(np.uint8)
    for role, array in arrays.items():
        write_idx(folder / IDX_FILES[role], array)
    return arrays


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_folder(tmp_path):
    """Serve a fresh folder on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def tensorboard_tags(logdir):
    """{plugin name: set of tags} of every summary under ``logdir``, read by TensorBoard's own reader."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    accumulator.Reload()
    tags = {}
    for tag in accumulator.Tags()["tensors"]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        tags.setdefault(plugin, set()).add(tag)
    return tags, accumulator


def expected_tags(layers):
    """The summaries every training run must log, by TensorBoard plugin."""
    return {
        "scalars": {"loss/train", "accuracy/train", "accuracy/test", "loss/test", "learning_rate"},
        "histograms": {f"activations/{layer}" for layer in layers},
        "images": {f"activation_{kind}/{layer}" for layer in layers for kind in ("histogram", "grid")},
    }


@pytest.fixture
def tiny_h5(tmp_path):
    """A small learnable dataset in the project's HDF5 layout: the class is the bright quadrant."""
    from actviz.data import write_dataset_h5

    rng = np.random.default_rng(0)

    def split(n):
        labels = np.arange(n) % 4
        images = rng.integers(0, 40, (n, 28, 28, 1), dtype=np.uint8)
        for i, label in enumerate(labels):
            r, c = divmod(int(label), 2)
            images[i, r * 14:(r + 1) * 14, c * 14:(c + 1) * 14] += 200
        return images, labels

    path = tmp_path / "tiny.h5"
    write_dataset_h5(path, {"train": split(256), "test": split(64)},
                     {"name": "tiny", "classes": ["a", "b", "c", "d"], "num_classes": 4, "height": 28,
                      "width": 28, "channels": 1, "checksums": {"tiny": "sha256:0"}})
    return path
