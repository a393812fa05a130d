"""The datasets the pipeline knows: their raw files with known checksums, their sources, and how their raw files
are decoded and converted to the pipeline's HDF5 file.

Each dataset lists its raw files with known checksums and an ordered list of sources. A source is a local folder
or a URL prefix holding files of the same names; ``actviz.downloads`` fetches and verifies them.
"""

import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from actviz.downloads import verify_all
from actviz.errors import UserError
from actviz.formats import read_idx, write_dataset_h5

# Shipped inside the package (MIT licence; provenance in its README.md).
SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "fashion-mnist-sample"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

DIGITS = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# The IDX file names shared by MNIST and Fashion-MNIST.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class RawFile:
    """One published file: its name, and its checksums as ``algorithm:hexdigest``."""

    name: str
    archive: str | None = None  # checksum of the file as published
    content: str | None = None  # checksum of the decompressed content of a .gz file


def _idx_files(**checksums):
    """The four IDX files of an MNIST-style dataset; ``checksums``: role -> (archive, content)."""
    return {role: RawFile(name, *checksums[role]) for role, name in IDX_FILES.items()}


@dataclass(frozen=True)
class DatasetSpec:
    """What the pipeline knows of one dataset."""

    name: str
    format: str  # which reader decodes the raw files: a key of _READERS
    files: dict  # role ("train_images", ...) -> RawFile
    sources: tuple  # local folders and URL prefixes, in the order to try
    classes: tuple
    sizes: tuple  # images in the (train, test) splits
    description: str
    homepage: str
    license: str


DATASETS = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="MNIST",
            format="idx",
            files=_idx_files(
                # Archive MD5s as torchvision lists them; content SHA-256s of the decompressed files.
                train_images=("md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
                              "sha256:ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
                train_labels=("md5:d53e105ee54ea40749a09fcbcd1e9432",
                              "sha256:65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
                test_images=("md5:9fb629c4189551a2d022fa330f9573f3",
                             "sha256:0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
                test_labels=("md5:ec29112dd5afa0611ce80d1b7f02629c",
                             "sha256:ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
            ),
            # yann.lecun.com no longer serves the files: the mirrors torchvision and TFDS use.
            sources=(
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ),
            classes=DIGITS,
            sizes=(60_000, 10_000),
            description="MNIST: 70,000 28x28 grey images of handwritten digits (LeCun et al. 1998), "
                        "official 60,000/10,000 split.",
            homepage="http://yann.lecun.com/exdb/mnist/",
            license="CC BY-SA 3.0",
        ),
        DatasetSpec(
            name="SVHN",
            format="svhn_mat",
            files={
                "train": RawFile("train_32x32.mat", "md5:e26dedcc434d2e4c54c9b2d4a06d8373"),
                "test": RawFile("test_32x32.mat", "md5:eb5a983be6a315427106f1b164d9cef3"),
            },
            sources=("http://ufldl.stanford.edu/housenumbers/",),
            classes=DIGITS,
            sizes=(73_257, 26_032),
            description="SVHN: 99,289 32x32 colour images of house-number digits from Street View "
                        "(Netzer et al. 2011), official 73,257/26,032 split (the extra set is not used).",
            homepage="http://ufldl.stanford.edu/housenumbers/",
            license="non-commercial use only",
        ),
        DatasetSpec(
            name="CIFAR10",
            format="cifar10_bin",
            files={
                # The binary version: fixed-length records, nothing to unpickle.
                "archive": RawFile("cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530"),
            },
            sources=("https://www.cs.toronto.edu/~kriz/",),
            classes=CIFAR10_CLASSES,
            sizes=(50_000, 10_000),
            description="CIFAR-10: 60,000 32x32 colour images in 10 classes (Krizhevsky 2009), "
                        "official 50,000/10,000 split.",
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            license="MIT",
        ),
        DatasetSpec(
            name="FashionMNIST",
            format="idx",
            files=_idx_files(
                # Archive MD5s as published by Zalando; content SHA-256s of the same files
                # decompressed, which also match Debian's re-compressed copies.
                train_images=("md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                              "sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
                train_labels=("md5:25c81989df183df01b3e8a0aad5dffbe",
                              "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
                test_images=("md5:bef4ecab320f06d8554ea6380940ec79",
                             "sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
                test_labels=("md5:bb300cfdad3c16e7a12a480ee83cd310",
                             "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
            ),
            sources=(
                str(DEBIAN_FASHION_MNIST),  # apt-get install dataset-fashion-mnist
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
            ),
            classes=FASHION_MNIST_CLASSES,
            sizes=(60_000, 10_000),
            description="Fashion-MNIST: 70,000 28x28 grey images of clothing in 10 classes "
                        "(Xiao, Rasul and Vollgraf 2017), official 60,000/10,000 split.",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            license="MIT",
        ),
        DatasetSpec(
            name="FashionMNIST-sample",
            format="idx",
            files=_idx_files(
                # SHA-256 of the decompressed content written by scripts/make_sample.py
                # (the gzip bytes may differ between zlib versions; the content does not).
                train_images=(None,
                              "sha256:71d22c9f843234e39b3f4ae0339b36a27224affaa2f34539fb51d06482c2ae36"),
                train_labels=(None,
                              "sha256:be2365acaf49a29e2e9e2f73f8905f1ed18e6ccc41928736bf3a1d46eae9ec51"),
                test_images=(None,
                             "sha256:1d9672168b490e8d422443f738488f8f0c878cbf6e6ee0121cc5aad0c89fb907"),
                test_labels=(None,
                             "sha256:6b6deb8d3d9ebbcf79a69cd8924091e5a1b44c01878988f2f1dc1bb8b7a71069"),
            ),
            sources=(str(SAMPLE_DIR),),
            classes=FASHION_MNIST_CLASSES,
            sizes=(10_000, 2_000),
            description="A class-balanced sample of Fashion-MNIST shipped with the project: "
                        "10,000 images of the official train split and 2,000 of the official test "
                        "split (see actviz/data/fashion-mnist-sample/README.md).",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            license="MIT",
        ),
    )
}


def _read_idx_splits(spec, raw_dir):
    splits = {}
    for split in ("train", "test"):
        images = read_idx(Path(raw_dir) / spec.files[f"{split}_images"].name)
        labels = read_idx(Path(raw_dir) / spec.files[f"{split}_labels"].name)
        if images.ndim == 3:
            images = images[..., None]
        splits[split] = (images.astype("uint8"), labels)
    return splits


def _read_svhn_splits(spec, raw_dir):
    """SVHN's MATLAB v5 files: X is 32x32x3xN, y is Nx1 with 10 standing for the digit 0."""
    from scipy.io import loadmat

    splits = {}
    for split in ("train", "test"):
        path = Path(raw_dir) / spec.files[split].name
        try:
            mat = loadmat(path, variable_names=("X", "y"))
        except (OSError, ValueError, TypeError) as error:
            raise UserError(f"{path}: cannot read MATLAB file ({error})") from None
        if "X" not in mat or "y" not in mat:
            raise UserError(f"{path}: expected variables X and y")
        labels = mat["y"].ravel().astype(np.int64)
        splits[split] = (np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2), dtype=np.uint8),
                         np.where(labels == 10, 0, labels))
    return splits


def _safe_member(archive, member):
    """Refuse a tar member that could land outside the extraction folder or is not a file."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"{archive}: refusing unsafe member path {member.name!r}")
    return member.isfile()


def _read_cifar10_splits(spec, raw_dir):
    """CIFAR-10's binary version: records of 1 label byte and 3,072 pixel bytes (R, G, B planes)."""
    path = Path(raw_dir) / spec.files["archive"].name
    batches = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                if _safe_member(path, member) and PurePosixPath(member.name).name in batches:
                    found[PurePosixPath(member.name).name] = tar.extractfile(member).read()
    except (OSError, tarfile.TarError, EOFError) as error:
        raise UserError(f"{path}: cannot read archive ({error})") from None
    missing = [b for b in batches if b not in found]
    if missing:
        raise UserError(f"{path}: missing {', '.join(missing)}")

    def records(names):
        data = np.frombuffer(b"".join(found[n] for n in names), np.uint8)
        if data.size % 3073:
            raise UserError(f"{path}: {', '.join(names)} is not a whole number of 3,073-byte records")
        data = data.reshape(-1, 3073)
        return np.ascontiguousarray(data[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), data[:, 0]

    return {"train": records(batches[:5]), "test": records(batches[5:])}


_READERS = {"idx": _read_idx_splits, "svhn_mat": _read_svhn_splits, "cifar10_bin": _read_cifar10_splits}


def read_raw(spec, raw_dir):
    """Decode the raw files of ``spec`` in ``raw_dir``: ``{split: (images N x H x W x C, labels)}``."""
    return _READERS[spec.format](spec, raw_dir)


def convert(spec, raw_dir, out_path):
    """Verify the raw files of ``spec`` in ``raw_dir`` and write them as one HDF5 file at ``out_path``."""
    checksums = verify_all(spec, raw_dir)
    splits = read_raw(spec, raw_dir)
    height, width, channels = splits["train"][0].shape[1:]
    write_dataset_h5(out_path, splits, {
        "name": spec.name,
        "classes": list(spec.classes),
        "num_classes": len(spec.classes),
        "height": height,
        "width": width,
        "channels": channels,
        "description": spec.description,
        "homepage": spec.homepage,
        "license": spec.license,
        "checksums": checksums,
    })
    return {split: len(labels) for split, (_, labels) in splits.items()}
