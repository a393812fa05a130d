"""Sources, checksums, fetching (local folders and HTTP on 127.0.0.1) and conversion."""

import gzip
import hashlib
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import make_idx_dataset

from actviz.data import read_info, read_split
from actviz.datasets import (DATASETS, DEBIAN_FASHION_MNIST, IDX_FILES, RawFile, convert, fetch,
                             get_spec, ordered_sources, verify)
from actviz.errors import UserError


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _spec_for(folder, sources):
    """A DatasetSpec whose checksums are those of the generated files in ``folder``."""
    files = {}
    for role, name in IDX_FILES.items():
        data = (Path(folder) / name).read_bytes()
        files[role] = RawFile(name, "md5:" + hashlib.md5(data).hexdigest(), _sha256(gzip.decompress(data)))
    return replace(DATASETS["FashionMNIST-sample"], name="Tiny", files=files, sources=tuple(sources))


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
    fetch(spec, tmp_path / "raw", progress=False, log=logged.append)
    assert all(url in line for line in logged)
    assert not list((tmp_path / "raw").glob("*.part"))


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


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(UserError, match="known datasets: FashionMNIST"):
        get_spec("MNISTT")


def test_embedded_sample_verifies_and_has_balanced_official_splits(tmp_path):
    spec = DATASETS["FashionMNIST-sample"]
    fetch(spec, tmp_path / "raw", progress=False, log=lambda *_: None)
    assert convert(spec, tmp_path / "raw", tmp_path / "s.h5") == {"train": 10000, "test": 2000}
    _, train_labels = read_split(tmp_path / "s.h5", "train")
    _, test_labels = read_split(tmp_path / "s.h5", "test")
    assert np.bincount(train_labels).tolist() == [1000] * 10
    assert np.bincount(test_labels).tolist() == [200] * 10


debian = pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(),
                            reason="Debian's dataset-fashion-mnist is not installed "
                                   "(apt-get install dataset-fashion-mnist)")


@debian
def test_full_fashion_mnist_converts_from_the_debian_folder(tmp_path):
    spec = DATASETS["FashionMNIST"]
    verified = fetch(spec, tmp_path / "raw", mirrors=[str(DEBIAN_FASHION_MNIST)], progress=False,
                     log=lambda *_: None)
    assert all(what.startswith("content sha256:") for what in verified.values())  # re-compressed
    assert convert(spec, tmp_path / "raw", tmp_path / "f.h5") == {"train": 60000, "test": 10000}
    _, labels = read_split(tmp_path / "f.h5", "train")
    assert np.bincount(labels).tolist() == [6000] * 10


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
