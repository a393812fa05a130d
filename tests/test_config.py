"""The workflow's config check (actviz.config, called by rules/common.smk): every problem is one line
naming the key; lists given on Snakemake's command line come typed."""

import pytest
import yaml
from helpers import REPO, write_legacy_layout

from actviz.config import check_config
from actviz.errors import UserError

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


def test_an_own_dataset_folder_is_a_known_dataset(tmp_path):
    import numpy as np

    write_legacy_layout(tmp_path / "mine", np.zeros((4, 8, 8, 1), np.uint8), np.arange(4) % 2, 2)
    assert check_config(_config(datasets=["mine"], datasets_dir=str(tmp_path)), SCHEMA)["datasets"] == ["mine"]
    with pytest.raises(UserError, match=rf"{tmp_path}/other/ holds neither data.h5 nor data.hy"):
        check_config(_config(datasets=["other"], datasets_dir=str(tmp_path)), SCHEMA)
