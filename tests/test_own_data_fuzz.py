"""Every malformed own dataset is one line: hundreds of valid datasets of both layouts, mutated at
random (keys dropped or retyped, shapes and dtypes changed, NaN and extreme values, class names of
any JSON, id files of any bytes, corrupted or truncated HDF5 files), each either converts into a
dataset that reads back whole or stops with one ``UserError`` line naming the dataset's folder, and
never leaves a partial file. A few of the converted ones also train.

Derandomised (the same cases every run, so CI cannot flake); HYPOTHESIS_PROFILE=explore draws new
ones and more of them.
"""

import json
import os
import tempfile
from pathlib import Path

import h5py
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from helpers import write_legacy_layout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actviz.errors import UserError
from actviz.formats import read_info, read_split
from actviz.own_data import convert_own

settings.register_profile("ci", max_examples=400, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("explore", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# The valid dataset each case starts from: images of any size, 0 (2-D images) to 4 channels, bytes,
# floats in 0..1 or booleans, 1 to 4 classes.
BASES = st.fixed_dictionaries({
    "shape": st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([0, 1, 3, 4])),
    "dtype": st.sampled_from(["u1", "f4", "?"]), "classes": st.integers(1, 4), "images": st.integers(6, 14),
})


def _images(base, count, rng):
    height, width, channels = base["shape"]
    shape = (count, height, width, channels) if channels else (count, height, width)
    if base["dtype"] == "u1":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(np.float32) if base["dtype"] == "f4" else rng.random(shape) < 0.5


def _project(folder, base, rng):
    """A valid dataset in the project's layout; the test split is a third of the images."""
    test = base["images"] // 3
    labels = np.arange(base["images"]) % base["classes"]
    folder.mkdir(parents=True)
    with h5py.File(folder / "data.h5", "w") as f:  # as a user writes one: any dtype, no chunks
        for split, rows in (("train", slice(test, None)), ("test", slice(None, test))):
            f[f"{split}/images"] = _images(base, base["images"], rng)[rows]
            f[f"{split}/labels"] = labels[rows]
        f.attrs["classes"] = json.dumps([f"class {c}" for c in range(base["classes"])])
    return folder / "data.h5"


def _legacy(folder, base, rng):
    write_legacy_layout(folder, _images(base, base["images"], rng), np.arange(base["images"]) % base["classes"],
                        base["classes"])
    return folder / "data.hy"


# What a key is replaced with: arrays of any numeric or text dtype and shape (with NaN, infinities
# and extreme integers), scalars, strings, empty groups.
TEXT = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])  # HDF5 strings: no NUL, no lone surrogates
DTYPES = st.sampled_from(["u1", "i1", "i2", "u2", "i4", "i8", "u8", "f2", "f4", "f8", "?", "c8", "S3"])
ARRAYS = DTYPES.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0,
                                                                         max_side=7)))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(TEXT, max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT, max_size=3), inner, max_size=3),
    max_leaves=8)
REPLACEMENTS = st.one_of(
    ARRAYS.map(lambda a: ("array", a)),
    st.integers(-2**63, 2**63 - 1).map(lambda v: ("array", np.int64(v))),
    st.text(TEXT, max_size=8).map(lambda v: ("string", v)),
    st.just(("group", None)),
)
# Small changes to the values a key holds: one value set to something odd, the array sliced, reshaped or cast.
NUDGES = st.one_of(
    st.tuples(st.just("set"), st.sampled_from([np.nan, np.inf, -np.inf, -1, 256, 1e30, 0.5, 2**31, -2**40])),
    st.tuples(st.just("slice"), st.integers(0, 14)),
    st.tuples(st.just("add axis"), st.integers(0, 4)),
    st.tuples(st.just("cast"), st.sampled_from(["f4", "f8", "i4", "u8", "?", "f2", "i1"])),
)


def _replace(f, key, replacement):
    kind, value = replacement
    parent, name = f, key
    if "/" in key:
        parent_key, name = key.rsplit("/", 1)
        if not isinstance(f.get(parent_key), h5py.Group):
            return
        parent = f[parent_key]
    if name in parent:
        del parent[name]
    if kind == "group":
        parent.create_group(name)
    elif kind == "string":
        parent[name] = value
    else:
        parent.create_dataset(name, data=value)


def _nudge(f, key, nudge):
    node = f.get(key)
    if not isinstance(node, h5py.Dataset) or node.dtype.kind not in "biuf":
        return
    kind, arg = nudge
    values = node[()]
    if kind == "set" and values.size:
        values = values.astype(np.result_type(values.dtype, np.min_scalar_type(arg)) if np.isfinite(arg)
                               else np.float64)
        values.flat[values.size // 2] = arg
    elif kind == "slice" and values.ndim:
        values = values[:arg]
    elif kind == "add axis":
        values = np.expand_dims(values, min(arg, values.ndim))
    elif kind == "cast":
        with np.errstate(all="ignore"):
            values = values.astype(arg)
    _replace(f, key, ("array", values))


def _file_keys(layout, images):
    if layout == "project":
        return ["train", "test", "train/images", "train/labels", "test/images", "test/labels", "extra"]
    ids = [str(i) for i in (0, 1, images - 1)]
    return ids + [f"{i}/{k}" for i in ids for k in ("image", "label")] + ["99"]


@st.composite
def mutations(draw, layout, images):
    """0-3 changes to a valid dataset of ``layout`` with ``images`` images: to its HDF5 keys, its text
    files, its bytes."""
    keys = st.sampled_from(_file_keys(layout, images))
    structural = st.one_of(
        st.tuples(st.just("drop"), keys),
        st.tuples(st.just("replace"), keys, REPLACEMENTS),
        st.tuples(st.just("nudge"), keys, NUDGES),
        *([st.tuples(st.just("classes"), st.one_of(
            JSON.map(json.dumps), JSON.map(str), st.text(TEXT, max_size=10), st.integers(-2**63, 2**63 - 1),
            st.lists(st.text(TEXT, max_size=3), max_size=5), st.binary(min_size=1, max_size=10)))]
          if layout == "project" else []),
    )
    ids_text = st.one_of(
        st.lists(st.sampled_from([str(i) for i in range(images)] + ["x", "99", "", " 3 "]), max_size=images + 2)
        .map(lambda ids: "\n".join(ids).encode()),
        st.binary(max_size=40),
        st.text(max_size=20).map(lambda t: t.encode("utf-16")),
    )
    text = st.tuples(st.sampled_from(["id.txt", "test_ids.txt"]), ids_text)
    damage = st.one_of(
        st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                                            min_size=1, max_size=8)),
        st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
    )
    changes = draw(st.lists(structural, max_size=3))
    if layout == "legacy":
        changes += draw(st.lists(st.tuples(st.just("text"), text), max_size=1))
    changes += draw(st.lists(st.tuples(st.just("damage"), damage), max_size=1))
    return changes


def _apply(h5_path, changes):
    folder = h5_path.parent
    with h5py.File(h5_path, "a") as f:
        for change in changes:
            if change[0] == "drop" and change[1] in f:
                del f[change[1]]
            elif change[0] == "replace":
                _replace(f, change[1], change[2])
            elif change[0] == "nudge":
                _nudge(f, change[1], change[2])
            elif change[0] == "classes":
                f.attrs["classes"] = np.void(change[1]) if isinstance(change[1], bytes) else change[1]
    for change in changes:
        if change[0] == "text":
            name, content = change[1]
            (folder / name).write_bytes(content)
        elif change[0] == "damage":
            kind, arg = change[1]
            data = bytearray(h5_path.read_bytes())
            if kind == "flip":
                for where, xor in arg:
                    data[int(where * len(data))] ^= xor
            elif kind == "truncate":
                data = data[: int(arg * len(data))]
            else:
                data += arg
            h5_path.write_bytes(bytes(data))


def _check_one(layout, base, changes, seed, test_fraction, converted, keep):
    """Mutate a fresh dataset of ``layout``, convert it, and check the outcome (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder, out_dir = tmp / "datasets" / "mine", tmp / "out"
        out_dir.mkdir()
        h5_path = (_project if layout == "project" else _legacy)(folder, base, np.random.default_rng(seed))
        _apply(h5_path, changes)
        out = out_dir / "mine.h5"
        try:
            sizes = convert_own("mine", folder, out, test_fraction=test_fraction)
        except UserError as error:
            message = str(error)
            assert "\n" not in message and str(folder) in message, message
            assert list(out_dir.iterdir()) == [], "a failed conversion left files behind"
            return "error"
        assert list(out_dir.iterdir()) == [out], "a conversion left other files than its output"
        info = read_info(out)
        for split, size in sizes.items():
            images, labels = read_split(out, split)
            assert images.dtype == np.uint8 and images.shape == (size, *info["image_shape"]) and size > 0
            assert labels.min() >= 0 and labels.max() < info["num_classes"] == len(info["classes"])
        key = (tuple(info["image_shape"]), info["num_classes"])
        # one of each kind of dataset that converted with a batch of training images (4) beside one held out for
        # validation, and a probe (2), to train on
        if key not in converted and sizes["train"] >= 5 and sizes["test"] >= 2:
            converted[key] = keep / f"converted-{len(converted)}.h5"
            os.replace(out, converted[key])
        return "converted"


@pytest.mark.slow
def test_every_mutated_own_dataset_converts_or_stops_with_one_line_naming_it(tmp_path):
    outcomes, converted = {"error": 0, "converted": 0}, {}

    @settings(settings.get_profile(PROFILE))
    @given(layout=st.sampled_from(["project", "legacy"]), base=BASES, data=st.data(), seed=st.integers(0, 3),
           test_fraction=st.floats(0.01, 0.99))
    def check(layout, base, data, seed, test_fraction):
        changes = data.draw(mutations(layout, base["images"]), label="changes")
        outcomes[_check_one(layout, base, changes, seed, test_fraction, converted, tmp_path)] += 1

    check()
    print(f"{sum(outcomes.values())} mutated datasets: {outcomes}; {len(converted)} kinds converted")
    # Both outcomes are exercised; the bulk of the cases are malformed.
    assert sum(outcomes.values()) >= 300 and outcomes["error"] >= 150 and outcomes["converted"] >= 20
    _train_a_few(converted, tmp_path)


def _train_a_few(converted, tmp_path):
    """Two training steps on three of the converted datasets, the most unusual shapes first."""
    from actviz.settings import TrainSettings
    from actviz.training import train

    settings_ = TrainSettings(steps=2, batch_size=4, log_every=1, eval_every=2, stats_every=2, histogram_every=2,
                              image_every=2, checkpoint_every=2, probe_size=2, validation_size=1)
    # the smallest images, the most channels and pixels, the most classes: the first of each order not chosen yet
    assert len(converted) >= 10
    chosen = []
    for order in (lambda k: np.prod(k[0]), lambda k: (-k[0][2], -np.prod(k[0])), lambda k: (-k[1], np.prod(k[0]))):
        chosen.append(next(k for k in sorted(converted, key=order) if k not in chosen))
    try:
        for number, (shape, classes) in enumerate(chosen):
            h5 = converted[shape, classes]
            run = tmp_path / f"run{number}"
            metrics = train(h5, "selu", settings_, run / "ckpt", run / "logs", run / "metrics.json",
                            run / "stats.csv", run / "histograms.csv", threads=1, progress=False,
                            log=lambda *_: None)
            assert metrics["final_step"] == 2 and 0 <= metrics["test_accuracy"] <= 1, (shape, classes)
    finally:
        for h5 in converted.values():
            h5.unlink(missing_ok=True)
