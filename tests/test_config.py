"""The defaults are written in three places; they must agree: config.yaml, its schema, the trainer."""

from dataclasses import fields
from pathlib import Path

import yaml

from actviz.training import TrainSettings

REPO = Path(__file__).resolve().parent.parent


def test_config_yaml_holds_the_schema_defaults_and_every_schema_key():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    assert set(config) == set(schema["properties"])
    for key, spec in schema["properties"].items():
        assert "description" in spec, key
        assert config[key] == spec["default"], key


def test_trainer_defaults_equal_the_config_defaults():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    defaults = TrainSettings()
    shared = [f.name for f in fields(TrainSettings) if f.name in config]
    assert len(shared) >= 12
    for name in shared:
        value = getattr(defaults, name)
        assert (list(value) if isinstance(value, tuple) else value) == config[name], name
