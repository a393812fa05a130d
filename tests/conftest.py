"""Fixtures only (what tests import is in helpers.py): a local HTTP server with scripted faults, a
small learnable dataset, and a copy of the project that ran the tiny workflow end to end."""

import http.server
import socket
import threading
import time

import numpy as np
import pytest
from helpers import TINY, copy_project, snakemake


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


@pytest.fixture(scope="session")
def tiny_h5(tmp_path_factory):
    """A small learnable dataset in the project's HDF5 layout: the class is the bright quadrant (read only)."""
    from actviz.formats import write_dataset_h5

    rng = np.random.default_rng(0)

    def split(n):
        labels = np.arange(n) % 4
        images = rng.integers(0, 40, (n, 28, 28, 1), dtype=np.uint8)
        for i, label in enumerate(labels):
            r, c = divmod(int(label), 2)
            images[i, r * 14:(r + 1) * 14, c * 14:(c + 1) * 14] += 200
        return images, labels

    path = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    write_dataset_h5(path, {"train": split(256), "test": split(64)},
                     {"name": "tiny", "classes": ["a", "b", "c", "d"], "num_classes": 4, "height": 28,
                      "width": 28, "channels": 1, "checksums": {"tiny": "sha256:0"}})
    return path


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """A copy of the project that ran the tiny config (2 recipes x 3 activations) end to end.

    Shared by the e2e tests, which only read it: a test that runs Snakemake again works on its own
    copy (``helpers.copy_finished_project``)."""
    import yaml

    workdir = tmp_path_factory.mktemp("project")
    copy_project(workdir)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = snakemake(workdir, "--cores", "2", "report", "--configfile", "tiny.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    (workdir / "snakemake.stdout").write_text(result.stdout)  # what the terminal showed, for the tests to read
    return workdir
