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
