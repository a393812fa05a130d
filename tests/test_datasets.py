"""Sources, checksums, fetching (local folders and HTTP on 127.0.0.1) and conversion."""

import gzip
import hashlib
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import make_idx_dataset

from actviz.datasets import DATASETS, DEBIAN_FASHION_MNIST, IDX_FILES, RawFile, convert
from actviz.downloads import fetch, ordered_sources, verify
from actviz.errors import UserError
from actviz.formats import read_info, read_split


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _spec_for(folder, sources):
    """A DatasetSpec whose checksums are those of the generated files in ``folder``."""
    files = {}
    for role, name in IDX_FILES.items():
        data = (Path(folder) / name).read_bytes()
        files[role] = RawFile(name, "md5:" + hashlib.md5(data).hexdigest(), _sha256(gzip.decompress(data)))
    return replace(DATASETS["FashionMNIST-sample"], name="Tiny", files=files, sources=tuple(sources))


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Keep the back-off between download attempts short in tests."""
    monkeypatch.setattr("actviz.downloads.BACKOFF_SECONDS", 0.01)


@pytest.fixture
def upstream(tmp_path):
    folder = tmp_path / "upstream"
    folder.mkdir()
    arrays = make_idx_dataset(folder)
    return folder, arrays


def test_verify_accepts_archive_or_decompressed_content(tmp_path, upstream):
    folder, _ = upstream
    spec = _spec_for(folder, [])
    original = folder / IDX_FILES["train_labels"]
    assert verify(original, spec.files["train_labels"]) == (True, f"archive {spec.files['train_labels'].archive}")
    recompressed = tmp_path / "recompressed.gz"  # like Debian's copies: same content, other gzip bytes
    recompressed.write_bytes(gzip.compress(gzip.decompress(original.read_bytes()), compresslevel=1, mtime=1))
    assert recompressed.read_bytes() != original.read_bytes()
    ok, what = verify(recompressed, spec.files["train_labels"])
    assert ok and what.startswith("content sha256:")


def test_verify_refuses_forged_content(tmp_path, upstream):
    folder, _ = upstream
    spec = _spec_for(folder, [])
    forged = tmp_path / IDX_FILES["train_labels"]
    forged.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    ok, what = verify(forged, spec.files["train_labels"])
    assert not ok and "archive md5" in what and "content sha256" in what


def test_local_folders_are_tried_before_urls():
    spec = replace(DATASETS["FashionMNIST"], sources=("http://a/", "/b", "https://c/", "/d"))
    assert ordered_sources(spec, ["http://mine/", "/mine"]) == ["/mine", "/b", "/d", "http://mine/", "http://a/",
                                                               "https://c/"]


def test_fetch_downloads_and_verifies_over_http(tmp_path, upstream, http_folder):
    folder, _ = upstream
    served, url = http_folder
    for name in IDX_FILES.values():
        shutil.copy(folder / name, served / name)
    spec = _spec_for(folder, [url])
    verified = fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    assert sorted(verified) == sorted(IDX_FILES.values())
    for name in IDX_FILES.values():
        assert (tmp_path / "raw" / name).read_bytes() == (folder / name).read_bytes()


def test_fetch_falls_back_from_dead_and_forged_sources(tmp_path, upstream, http_folder):
    folder, _ = upstream
    served, url = http_folder
    forged = tmp_path / "forged"
    forged.mkdir()
    for name in IDX_FILES.values():  # right names, wrong content
        (forged / name).write_bytes(gzip.compress(b"forged"))
        shutil.copy(folder / name, served / name)
    dead = "http://127.0.0.1:9/"  # discard port: connection refused at once
    spec = _spec_for(folder, [dead, str(forged), url])
    logged = []
    verified = fetch(spec, tmp_path / "raw", progress=False, log=logged.append)
    # every file came from the one source that serves the real thing, and says so
    assert logged == [f"{f.name}: from {url}, archive {f.archive}" for f in spec.files.values()]
    assert verified == {f.name: f"archive {f.archive}" for f in spec.files.values()}
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(IDX_FILES.values())  # no *.part left
    for name in IDX_FILES.values():
        assert (tmp_path / "raw" / name).read_bytes() == (folder / name).read_bytes()


def test_fetch_reuses_a_verified_file_and_replaces_a_corrupt_one(tmp_path, upstream):
    folder, _ = upstream
    spec = _spec_for(folder, [str(folder)])
    raw = tmp_path / "raw"
    fetch(spec, raw, progress=False, log=lambda *_: None)
    target = raw / IDX_FILES["test_images"]
    target.write_bytes(b"corrupt")
    logged = []
    fetch(spec, raw, progress=False, log=logged.append)
    assert any("fails its checksum" in line for line in logged)
    assert target.read_bytes() == (folder / IDX_FILES["test_images"]).read_bytes()


def test_fetch_error_names_the_file_and_every_source_tried(tmp_path, upstream, http_folder):
    folder, _ = upstream
    _, url = http_folder  # serves nothing: 404 for every file
    spec = _spec_for(folder, [url, str(tmp_path / "nowhere")])
    with pytest.raises(UserError) as error:
        fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    message = str(error.value)
    assert IDX_FILES["train_images"] in message and url in message and "nowhere" in message
    assert "404" in message
    assert not (tmp_path / "raw" / IDX_FILES["train_images"]).exists()


def test_convert_writes_official_splits_with_metadata(tmp_path, upstream):
    folder, arrays = upstream
    spec = _spec_for(folder, [str(folder)])
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    assert convert(spec, tmp_path / "raw", tmp_path / "tiny.h5") == {"train": 60, "test": 20}
    images, labels = read_split(tmp_path / "tiny.h5", "train")
    np.testing.assert_array_equal(images[..., 0], arrays["train_images"])
    np.testing.assert_array_equal(labels, arrays["train_labels"])
    info = read_info(tmp_path / "tiny.h5")
    assert (info["height"], info["width"], info["channels"], info["num_classes"]) == (28, 28, 1, 10)
    assert set(info["checksums"]) == set(IDX_FILES.values())


def test_convert_refuses_a_file_that_fails_its_checksum(tmp_path, upstream):
    folder, _ = upstream
    spec = _spec_for(folder, [str(folder)])
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    (tmp_path / "raw" / IDX_FILES["test_labels"]).write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(UserError, match="refusing to convert"):
        convert(spec, tmp_path / "raw", tmp_path / "tiny.h5")
    assert not (tmp_path / "tiny.h5").exists()


def test_unknown_dataset_names_the_known_ones(tmp_path):
    from actviz.own_data import resolve_dataset

    with pytest.raises(UserError, match="not one of MNIST, SVHN, CIFAR10, FashionMNIST"):
        resolve_dataset("MNISTT", tmp_path)


def test_embedded_sample_verifies_and_has_balanced_official_splits(tmp_path):
    spec = DATASETS["FashionMNIST-sample"]
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    assert convert(spec, tmp_path / "raw", tmp_path / "s.h5") == {"train": 10000, "test": 2000}
    _, train_labels = read_split(tmp_path / "s.h5", "train")
    _, test_labels = read_split(tmp_path / "s.h5", "test")
    assert np.bincount(train_labels).tolist() == [1000] * 10
    assert np.bincount(test_labels).tolist() == [200] * 10


# Skipped, saying why, where the package is missing; under CI (which installs it) it must run.
debian = pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir() and not os.environ.get("CI"),
                            reason="Debian's dataset-fashion-mnist is not installed "
                                   "(apt-get install dataset-fashion-mnist)")


@pytest.mark.system
@debian
def test_full_fashion_mnist_converts_from_the_debian_folder(tmp_path):
    spec = DATASETS["FashionMNIST"]
    verified = fetch(spec, tmp_path / "raw", mirrors=[str(DEBIAN_FASHION_MNIST)], progress=False,
                     log=lambda *_: None)
    assert all(what.startswith("content sha256:") for what in verified.values())  # re-compressed
    assert convert(spec, tmp_path / "raw", tmp_path / "f.h5") == {"train": 60000, "test": 10000}
    _, labels = read_split(tmp_path / "f.h5", "train")
    assert np.bincount(labels).tolist() == [6000] * 10
    _, labels = read_split(tmp_path / "f.h5", "test")
    assert np.bincount(labels).tolist() == [1000] * 10


@pytest.mark.system
@debian
def test_make_sample_recreates_the_embedded_sample(tmp_path):
    from actviz.sample import make_sample

    checksums = make_sample(str(DEBIAN_FASHION_MNIST), tmp_path, 1000, 200, 2017)
    spec = DATASETS["FashionMNIST-sample"]
    assert checksums == {f.name: f.content for f in spec.files.values()}
    repo_sample = Path(spec.sources[0])
    for split in ("train", "test"):
        name = f"{split}-indices.txt"
        assert (tmp_path / name).read_text() == (repo_sample / name).read_text()
    assert os.path.exists(repo_sample / "LICENSE")


def _spec_with_checksums(name, folder):
    """The registry's spec for ``name`` with the MD5s of the generated files in ``folder``."""
    spec = DATASETS[name]
    files = {role: RawFile(f.name, "md5:" + hashlib.md5((Path(folder) / f.name).read_bytes()).hexdigest())
             for role, f in spec.files.items()}
    return replace(spec, files=files)


def test_svhn_mat_files_convert_with_label_10_as_digit_0(tmp_path, http_server):
    from helpers import make_svhn_mat

    train_x, train_y = make_svhn_mat(http_server.folder / "train_32x32.mat", 30, seed=1)
    make_svhn_mat(http_server.folder / "test_32x32.mat", 12, seed=2)
    spec = _spec_with_checksums("SVHN", http_server.folder)
    fetch(spec, tmp_path / "raw", mirrors=[http_server.url], progress=False, log=lambda *_: None)
    assert convert(spec, tmp_path / "raw", tmp_path / "svhn.h5") == {"train": 30, "test": 12}
    images, labels = read_split(tmp_path / "svhn.h5", "train")
    assert images.shape == (30, 32, 32, 3)
    np.testing.assert_array_equal(images[7], train_x[:, :, :, 7])
    assert labels[9] == 0 and labels[0] == 1 and set(labels) == set(range(10))
    assert read_info(tmp_path / "svhn.h5")["classes"] == [str(d) for d in range(10)]


def test_cifar10_binary_archive_converts_without_unpickling(tmp_path, http_server):
    from helpers import make_cifar10_tar

    batches = make_cifar10_tar(http_server.folder / "cifar-10-binary.tar.gz", per_batch=8)
    spec = _spec_with_checksums("CIFAR10", http_server.folder)
    fetch(spec, tmp_path / "raw", mirrors=[http_server.url], progress=False, log=lambda *_: None)
    assert convert(spec, tmp_path / "raw", tmp_path / "c.h5") == {"train": 40, "test": 8}
    images, labels = read_split(tmp_path / "c.h5", "train")
    labels_b2, images_b2 = batches["data_batch_2.bin"]
    np.testing.assert_array_equal(labels[8:16], labels_b2)  # batches in order 1..5
    np.testing.assert_array_equal(images[8], images_b2[0].transpose(1, 2, 0))  # planes -> H x W x RGB
    test_images, test_labels = read_split(tmp_path / "c.h5", "test")
    np.testing.assert_array_equal(test_labels, batches["test_batch.bin"][0])
    assert read_info(tmp_path / "c.h5")["classes"][0] == "airplane"


@pytest.mark.parametrize("member", ["../evil.bin", "/etc/evil.bin", "cifar-10-batches-bin/../../evil"])
def test_cifar10_archive_with_an_unsafe_member_is_refused(tmp_path, member):
    from helpers import make_cifar10_tar

    make_cifar10_tar(tmp_path / "cifar-10-binary.tar.gz", 2, extra_members=[(member, b"x")])
    spec = _spec_with_checksums("CIFAR10", tmp_path)
    with pytest.raises(UserError, match="refusing unsafe member path"):
        convert(spec, tmp_path, tmp_path / "c.h5")
    assert not (tmp_path / "c.h5").exists()


def _serve_tiny_idx(http_server, upstream):
    folder, _ = upstream
    for name in IDX_FILES.values():
        shutil.copy(folder / name, http_server.folder / name)
    return _spec_for(folder, [http_server.url])


def test_a_truncated_transfer_is_resumed_with_a_range_request(tmp_path, http_server, upstream):
    spec = _serve_tiny_idx(http_server, upstream)
    name = IDX_FILES["train_images"]
    http_server.faults[name] = ["truncate"]
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    ranges = [r for n, r in http_server.requests if n == name]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and int(ranges[1][6:-1]) > 0
    assert (tmp_path / "raw" / name).read_bytes() == (http_server.folder / name).read_bytes()


def test_a_truncated_transfer_is_retried_whole_when_the_server_ignores_ranges(tmp_path, http_server, upstream):
    spec = _serve_tiny_idx(http_server, upstream)
    http_server.ranges = False
    name = IDX_FILES["train_images"]
    http_server.faults[name] = ["truncate", "500"]
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    assert len([n for n, _ in http_server.requests if n == name]) == 3
    assert (tmp_path / "raw" / name).read_bytes() == (http_server.folder / name).read_bytes()


def _add_mirror(http_server):
    """Copy the served files into a mirror/ sub-folder; return its URL."""
    (http_server.folder / "mirror").mkdir()
    for name in IDX_FILES.values():
        shutil.copy(http_server.folder / name, http_server.folder / "mirror" / name)
    return f"{http_server.url}mirror/"


def test_an_html_error_page_with_status_200_is_refused_and_the_next_source_used(tmp_path, http_server,
                                                                                 upstream):
    folder, _ = upstream
    _serve_tiny_idx(http_server, upstream)
    mirror = _add_mirror(http_server)
    name = IDX_FILES["test_labels"]
    http_server.faults[name] = ["html"]
    logged = []
    fetch(_spec_for(folder, [http_server.url, mirror]), tmp_path / "raw", progress=False, log=logged.append)
    assert any(line.startswith(f"{name}: from {mirror}") for line in logged)

    http_server.faults[name] = ["html"]
    with pytest.raises(UserError, match=f"no valid copy of {name} .*checksum mismatch"):
        fetch(_spec_for(folder, [http_server.url]), tmp_path / "raw2", progress=False, log=lambda *_: None)
    assert not (tmp_path / "raw2" / name).exists() and not (tmp_path / "raw2" / f"{name}.part").exists()


def test_a_hanging_source_times_out_and_the_next_one_is_used(tmp_path, http_server, upstream, monkeypatch):
    monkeypatch.setattr("actviz.downloads.RETRIES", 1)
    folder, _ = upstream
    _serve_tiny_idx(http_server, upstream)
    mirror = _add_mirror(http_server)
    name = IDX_FILES["test_labels"]
    http_server.faults[name] = ["hang"]
    logged = []
    fetch(_spec_for(folder, [http_server.url, mirror]), tmp_path / "raw", timeout=0.5, progress=False,
          log=logged.append)
    assert any(line.startswith(f"{name}: from {mirror}") for line in logged)


def test_mnist_registry_entry_fetches_idx_files_over_http(tmp_path, http_server):
    arrays = make_idx_dataset(http_server.folder, train=30, test=10)
    spec = _spec_with_checksums("MNIST", http_server.folder)
    assert spec.sources[0].startswith("https://")  # the real mirrors stay in the list, tried after ours
    verified = fetch(spec, tmp_path / "raw", mirrors=[http_server.url], progress=False, log=lambda *_: None)
    assert all(what.startswith("archive md5:") for what in verified.values())
    assert convert(spec, tmp_path / "raw", tmp_path / "m.h5") == {"train": 30, "test": 10}
    np.testing.assert_array_equal(read_split(tmp_path / "m.h5", "test")[1], arrays["test_labels"])
