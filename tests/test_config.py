"""The workflow's config check (actviz.config, called by rules/common.smk): every problem is one line
naming the key; lists given on Snakemake's command line come typed."""

import pytest
import yaml
from helpers import REPO, write_legacy_layout

from actviz.config import check_config
from actviz.errors import UserError
from actviz.splits import validation_count

SCHEMA = REPO / "schemas" / "config.schema.yaml"


def _config(**changes):
    return {**yaml.safe_load((REPO / "config.yaml").read_text()), **changes}


@pytest.mark.parametrize("changes, message", [
    ({"steps": -5}, "config: steps: -5 is less than the minimum of 1"),
    ({"bogus": 1}, "config: Additional properties are not allowed ('bogus' was unexpected)"),
    ({"activations": ["selu", "swishy"]}, "config: activations: unknown 'swishy'; known: relu, lrelu, selu"),
    ({"datasets": ["MNIST-typo"]}, "config: datasets: unknown 'MNIST-typo': not one of MNIST"),
    ({"recipes": ["snn", "fancy"]}, "config: recipes: unknown 'fancy'; known: snn, seed"),
    ({"learning_rate": "fast"}, "config: learning_rate: 'fast' is not of type 'number'"),
    ({"histogram_range": [5, 1]}, "config: histogram_range: needs low < high, got [5, 1]"),
    ({"histogram_range": [float("-inf"), 8]}, "config: histogram_range: must be finite, got [-inf, 8]"),
    ({"histogram_range": "wide"}, "config: histogram_range: 'wide' is not valid under any of the given schemas"),
    ({"precision": "float16"}, "config: precision: 'float16' is not one of ['float32', 'bfloat16']"),
    ({"seeds": [0, -1]}, "config: seeds/1: -1 is less than the minimum of 0"),
    ({"seeds": [0, 1, 2], "max_seeds": 2}, "config: max_seeds: 2 is below the 3 seeds given"),
    ({"seeds": [0], "max_seeds": 8}, "config: max_seeds: the looks compare seeds paired, so they start from three"),
    ({"seed_design": "crossed"}, "config: seed_design: crossed trains each seed's weights with every other seed's "
                                 "batch order, so it needs two or more seeds; seeds has 1"),
    ({"seed_design": "split"}, "config: seed_design: 'split' is not one of ['joint', 'crossed']"),
    ({"equivalence_margin": 0}, "config: equivalence_margin: 0 is less than or equal to the minimum of 0"),
    ({"equivalence_margin": 1.5}, "config: equivalence_margin: 1.5 is greater than or equal to the maximum of 1"),
])
def test_a_bad_config_is_one_line_naming_the_key(changes, message):
    with pytest.raises(UserError) as error:
        check_config(_config(**changes), SCHEMA)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_lists_from_the_command_line_are_typed_and_defaults_filled_in():
    config = _config(seeds=["0", "1"], histogram_range=["-3.5", "6"])
    del config["steps"]
    checked = check_config(config, SCHEMA)
    assert checked["seeds"] == [0, 1] and checked["histogram_range"] == [-3.5, 6]
    assert checked["steps"] == 800  # the schema's default


def test_integers_written_as_floats_become_integers():
    checked = check_config(_config(steps=800.0, seeds=[0.0, 2.0], histogram_range=[-3.0, 6.0]), SCHEMA)
    assert checked["steps"] == 800 and type(checked["steps"]) is int and checked["seeds"] == [0, 2]
    assert all(type(seed) is int for seed in checked["seeds"])
    assert [type(v) for v in checked["histogram_range"]] == [float, float]  # numbers stay as given


def test_an_own_dataset_folder_is_a_known_dataset(tmp_path):
    import numpy as np

    write_legacy_layout(tmp_path / "mine", np.zeros((4, 8, 8, 1), np.uint8), np.arange(4) % 2, 2)
    config = _config(datasets=["mine"], datasets_dir=str(tmp_path), batch_size=2, probe_size=1, probe_images=1,
                     validation_size=1)
    assert check_config(config, SCHEMA)["datasets"] == ["mine"]
    with pytest.raises(UserError, match=rf"{tmp_path}/other/ holds neither data.h5 nor data.hy"):
        check_config(_config(datasets=["other"], datasets_dir=str(tmp_path)), SCHEMA)


# A value of another JSON type than a schema entry wants.
WRONG_TYPE = {"integer": ["many", 1.5], "number": ["fast"], "string": [3], "boolean": ["yes"], "array": ["x"],
              "object": [["learning_rate"], "x"]}


def _bad_values(spec):
    """Values the schema entry ``spec`` rejects: of a wrong type, and one across each limit it sets."""
    bad = list(WRONG_TYPE.get(spec.get("type"), []))
    step = 1 if spec.get("type") == "integer" else 0.5
    if "minimum" in spec:
        bad.append(spec["minimum"] - step)
    bad += [spec[limit] for limit in ("exclusiveMinimum", "exclusiveMaximum") if limit in spec]
    if "maximum" in spec:
        bad.append(spec["maximum"] + step)
    if "enum" in spec:
        bad.append("nope")
    if spec.get("minLength"):
        bad.append("")
    if spec.get("minItems"):
        bad.append([])
    if spec.get("uniqueItems") and spec["default"]:
        bad.append(spec["default"][:1] * 2)
    items = spec.get("items", {})
    bad += [[value] for value in _bad_values(items)] if items else []
    if "pattern" in items:
        bad.append(["bad name!"])
    if spec.get("additionalProperties"):  # sweep: each value a non-empty list, each list of a setting's values
        bad += [{"learning_rate": 0.001}, {"learning_rate": []}, {"steps": [100, 200]}, {"learning_rate": [0.001, -1]},
                {"optimizer": ["adam", "adagrad"]}, {"depth": [2.5]}, {"learning_rate": ["fast"]},
                {"dropout": [0.0, 0.0]}]
    if "oneOf" in spec:  # histogram_range: auto or [low, high]
        bad += ["wide", [1], [1, 2, 3], ["a", "b"], [None, 1], [float("nan"), 1], [float("inf"), 8], [3, 3], 7]
    return bad


PROPERTIES = yaml.safe_load(SCHEMA.read_text())["properties"]
BAD = [(key, value) for key, spec in PROPERTIES.items() for value in _bad_values(spec)]


def test_every_key_of_the_schema_has_values_to_reject():
    assert {key for key, _ in BAD} == set(PROPERTIES)


@pytest.mark.parametrize("key, value", BAD, ids=[f"{key}={value!r}" for key, value in BAD])
def test_every_key_with_a_wrong_type_or_out_of_range_is_one_line_naming_it(key, value):
    with pytest.raises(UserError) as error:
        check_config(_config(**{key: value}), SCHEMA)
    message = str(error.value)
    assert message.startswith((f"config: {key}: ", f"config: {key}/")) and "\n" not in message, message


@pytest.mark.parametrize("changes, message", [
    ({"probe_images": 2001}, "config: probe_images: 2001 is more than the 2000 images in the test split of "
                             "dataset 'FashionMNIST-sample'"),
    ({"probe_size": 10_001, "datasets": ["MNIST"]}, "config: probe_size: 10001 is more than the 10000 images"),
    ({"batch_size": 73_258, "datasets": ["SVHN"]}, "config: batch_size: 73258 is more than the 73257 images in "
                                                   "the train split of dataset 'SVHN'"),
])
def test_probe_and_batch_sizes_larger_than_a_split_of_a_builtin_dataset_are_refused(changes, message):
    with pytest.raises(UserError, match=f"^{message}"):
        check_config(_config(**changes), SCHEMA)
    limits = {key: value - 1 for key, value in changes.items() if key != "datasets"}
    if "batch_size" in limits:  # one batch must fit in what the validation split leaves (10%: 65,931 of SVHN's)
        limits["batch_size"] -= validation_count(0.1, limits["batch_size"])
        with pytest.raises(UserError, match="^config: validation_size: dataset 'SVHN': holding out 7326 of 73257 "
                                            "train images leaves 65931, fewer than one batch of 65932$"):
            check_config(_config(**{**changes, "batch_size": limits["batch_size"] + 1}), SCHEMA)
    assert check_config(_config(**{**changes, **limits}), SCHEMA)


@pytest.mark.parametrize("layout", ["project", "legacy", "legacy with test_ids.txt"])
def test_probe_and_batch_sizes_are_checked_against_own_datasets(tmp_path, layout):
    import numpy as np

    from actviz.formats import write_dataset_h5

    folder = tmp_path / "mine"
    images, labels = np.zeros((20, 8, 8, 1), np.uint8), np.arange(20) % 2
    if layout == "project":  # 15 train, 5 test
        folder.mkdir()
        write_dataset_h5(folder / "data.h5", {"train": (images[:15], labels[:15]), "test": (images[15:], labels[15:])},
                         {})
    else:  # 20 ids; a test fraction of 0.25 draws 5 of them; test_ids.txt names 5 (and an unknown id, ignored)
        write_legacy_layout(folder, images, labels, 2)
        if layout == "legacy with test_ids.txt":
            (folder / "test_ids.txt").write_text("0\n1\n2\n3\n4\nnot-an-id\n")
    config = _config(datasets=["mine"], datasets_dir=str(tmp_path), test_fraction=0.25, batch_size=13, probe_size=5,
                     probe_images=5, validation_size=2)  # 13 train images left for a batch of 13
    assert check_config(dict(config), SCHEMA)
    for key, split, size in (("batch_size", "train", 15), ("probe_size", "test", 5), ("probe_images", "test", 5)):
        with pytest.raises(UserError, match=rf"^config: {key}: {size + 1} is more than the {size} images in the "
                                            rf"{split} split of dataset 'mine'$"):
            check_config({**config, key: size + 1}, SCHEMA)


def test_an_unreadable_own_dataset_is_left_to_its_conversion_to_name(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "data.h5").write_bytes(b"not HDF5")
    assert check_config(_config(datasets=["mine"], datasets_dir=str(tmp_path)), SCHEMA)["datasets"] == ["mine"]
