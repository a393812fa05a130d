"""Shared fixtures: generated datasets in the upstream IDX format and a local HTTP server."""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
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


def make_svhn_mat(path, n, seed=0):
    """An SVHN file in the upstream MATLAB v5 layout: X is 32x32x3xN uint8, y is Nx1 in 1..10."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    labels = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 10 stands for the digit 0
    savemat(path, {"X": images, "y": labels}, format="5")
    return images, labels


def make_cifar10_tar(path, per_batch, seed=0, extra_members=()):
    """A CIFAR-10 binary archive as published: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin,
    each record one label byte then 1,024 red, 1,024 green and 1,024 blue bytes. Returns
    {batch name: (labels, images N x 3 x 32 x 32)}."""
    import io
    import tarfile

    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        members = []
        for name in names:
            labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
            images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
            batches[name] = (labels, images)
            records = np.concatenate([labels[:, None], images.reshape(per_batch, -1)], axis=1)
            members.append((f"cifar-10-batches-bin/{name}", records.tobytes()))
        members.append(("cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\n"))
        for name, data in [*members, *extra_members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return batches


class _FaultyRangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves the server's folder with HTTP Range support and scripted faults per file name."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        name = self.path.lstrip("/")
        server.requests.append((name, self.headers.get("Range")))
        faults = server.faults.get(name, [])
        fault = faults.pop(0) if faults else None
        if fault == "hang":
            time.sleep(3)  # longer than the client's timeout in the tests
            return
        if fault == "html":  # an error page served with status 200, as some mirrors do
            body = b"<html><body>Service temporarily unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if fault == "500":
            self.send_error(500)
            return
        path = server.folder / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        requested = self.headers.get("Range")
        if requested and server.ranges:
            start = int(requested.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "truncate":  # the connection drops half-way through
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@pytest.fixture
def http_server(tmp_path):
    """An HTTP server on 127.0.0.1 over a fresh folder.

    Attributes: folder, url, faults ({file name: [fault, ...]} consumed one per request: "truncate",
    "html", "hang", "500"), requests ([(file name, Range header)]), ranges (honour Range, default True).
    """
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FaultyRangeHandler)
    server.folder, server.faults, server.requests, server.ranges = folder, {}, [], True
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_folder(http_server):
    """Serve a fresh folder on 127.0.0.1; yields (folder, base URL)."""
    return http_server.folder, http_server.url


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
        "scalars": {"loss/train", "accuracy/train", "accuracy/test", "loss/test", "learning_rate",
                    "final/test_accuracy", "final/test_loss"}
        | {f"stats/{layer}/{key}" for layer in layers for key in ("mean", "std", "p1", "p99", "dead_fraction",
                                                                  "negative_fraction", "zero_fraction")},
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


PROJECT_FILES = ("Snakefile", "config.yaml", "rules", "scripts", "actviz", "schemas", "templates", "profiles",
                 "envs", "data", "report")
ACTIVATIONS = ["relu", "lrelu", "selu"]
RECIPES = ["snn", "seed"]
TINY = {"activations": ACTIVATIONS, "recipes": RECIPES, "steps": 20, "batch_size": 32, "log_every": 5,
        "eval_every": 10, "stats_every": 10, "histogram_every": 10, "image_every": 20, "checkpoint_every": 10,
        "probe_size": 16, "probe_images": 40}


def snakemake(workdir, *args):
    """Run Snakemake with this Python in ``workdir``."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=1200)


def copy_project(folder):
    """Copy the workflow (not its results) into ``folder``, to run it there."""
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """A copy of the project that ran the tiny config (2 recipes x 3 activations) end to end."""
    import yaml

    workdir = tmp_path_factory.mktemp("project")
    copy_project(workdir)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = snakemake(workdir, "--cores", "2", "report", "--configfile", "tiny.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir
