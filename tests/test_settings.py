"""Settings are declared once (actviz/settings.py); the schema and config.yaml describe the same keys
with the same types, defaults and limits, and the scripts' options and the workflow's command lines
come from the fields."""

import importlib.util
import typing
from dataclasses import fields

import pytest
import yaml
from helpers import REPO

from actviz.errors import UserError
from actviz.settings import (
    DecideSettings,
    ExtractSettings,
    ReportSettings,
    TrainSettings,
    command_line,
    from_args,
    from_config,
)

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())["properties"]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SETTINGS = (TrainSettings, ExtractSettings, ReportSettings, DecideSettings)
# Keys of the workflow itself, not of one run's training or extraction.
WORKFLOW_KEYS = {"datasets", "datasets_dir", "test_fraction", "activations", "architectures", "recipes", "seeds",
                 "seed_design", "sweep", "sweep_seeds", "sweep_rungs", "mirrors", "gpus"}
JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def _script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config_fields():
    """(settings class, field, its type) of every setting that is a config key."""
    return [(cls, spec, typing.get_type_hints(cls)[spec.name]) for cls in SETTINGS for spec in fields(cls)
            if not spec.metadata["per_run"]]


def test_config_yaml_holds_the_schema_defaults_and_every_schema_key():
    assert set(CONFIG) == set(SCHEMA)
    for key, spec in SCHEMA.items():
        assert "description" in spec, key
        assert CONFIG[key] == spec["default"], key


def test_every_setting_is_a_schema_key_of_the_same_type_default_and_limits():
    for cls, spec, kind in _config_fields():
        schema = SCHEMA[spec.name]
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert schema["default"] == default, spec.name
        if spec.metadata["items"]:  # a list of names
            assert schema["type"] == "array" and schema["items"] == {"enum": list(spec.metadata["items"])}, spec.name
            assert schema["minItems"] == 1 and schema["uniqueItems"], spec.name
        elif spec.metadata["parse"]:  # "auto" or a range
            assert schema["oneOf"][0] == {"const": "auto"}, spec.name
            assert schema["oneOf"][1] == {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
        elif typing.get_origin(kind) is tuple:
            items = typing.get_args(kind)
            assert schema["type"] == "array" and schema["minItems"] == schema["maxItems"] == len(items), spec.name
            assert schema["items"]["type"] == JSON_TYPES[items[0]], spec.name
        else:
            assert schema["type"] == JSON_TYPES[kind], spec.name
        limits = {k: v for k, v in schema.items() if k in ("minimum", "maximum", "exclusiveMinimum",
                                                            "exclusiveMaximum")}
        assert spec.metadata["limits"] == limits, spec.name
        assert spec.metadata["choices"] == (tuple(schema["enum"]) if "enum" in schema else None), spec.name


def test_every_schema_key_is_a_setting_or_a_key_of_the_workflow():
    settings = {spec.name for _, spec, _ in _config_fields()}
    assert set(SCHEMA) == settings | WORKFLOW_KEYS
    assert not settings & WORKFLOW_KEYS


def test_per_run_settings_come_from_the_configs_lists_of_runs():
    per_run = [spec for cls in SETTINGS for spec in fields(cls) if spec.metadata["per_run"]]
    assert {spec.name for spec in per_run} == {"architecture", "recipe", "seed", "order_seed"}
    # recipes, seeds: one run each; a crossed design's batch-order seeds are the seeds too
    lists = {"order_seed": "seeds"}
    for spec in per_run:
        assert SCHEMA[lists.get(spec.name, f"{spec.name}s")]["type"] == "array", spec.name


@pytest.mark.parametrize("first, second", [(TrainSettings, ReportSettings), (ReportSettings, DecideSettings)])
def test_shared_settings_are_the_same_field_in_training_the_report_and_decisions(first, second):
    known = {spec.name: spec for spec in fields(first)}
    shared = [spec for spec in fields(second) if spec.name in known]
    assert shared
    for spec in shared:
        assert (spec.default, dict(spec.metadata)) == (known[spec.name].default, dict(known[spec.name].metadata))
    assert second is not DecideSettings or len(shared) == len(fields(DecideSettings))


def _other_value(spec):
    """A valid value of setting ``spec`` other than its default."""
    value, choices = spec.default, spec.metadata["choices"]
    if spec.metadata["items"]:
        return list(reversed(spec.metadata["items"]))
    if spec.metadata["parse"]:  # "auto" or a range
        return [-1.5, 2.0]
    if isinstance(value, bool):
        return not value
    if choices:
        return next(choice for choice in choices if choice != value)
    if isinstance(value, tuple):
        return [2 * v for v in value]
    return value + 1 if isinstance(value, int) else value / 2


def _changed_config():
    """The default config with every training and extraction setting set to another valid value."""
    config = dict(CONFIG)
    config.update({spec.name: _other_value(spec) for _, spec, _ in _config_fields()})
    for cls in SETTINGS:
        from_config(cls, config).check()
    return config


REPORT_FILES = ["--metrics", "m", "--training-stats", "t", "--stats", "s", "--activations", "a", "--html", "h",
                "--accuracy-csv", "a", "--comparisons-csv", "c", "--per-class-csv", "p", "--confusion-csv", "c",
                "--layer-stats-csv", "l", "--training-stats-csv", "t", "--curves-csv", "c", "--numbers-json", "n"]


@pytest.mark.parametrize("script, cls, paths", [
    ("train", TrainSettings, ["--checkpoint-dir", "c", "--log-dir", "l", "--metrics", "m", "--stats", "s",
                              "--histograms", "h"]),
    ("extract_activations", ExtractSettings, ["--checkpoint-dir", "c", "--out", "o", "--stats", "s",
                                              "--stats-csv", "c"]),
    ("report", ReportSettings, REPORT_FILES),
    ("decide", DecideSettings, ["--look", "0", "--planned-json", "[[0]]", "--out", "o"]),
])
@pytest.mark.parametrize("config", [CONFIG, _changed_config()], ids=["defaults", "changed"])
def test_the_workflows_command_line_gives_the_script_exactly_the_configs_settings(script, cls, paths, config):
    dataset = [] if script == "decide" else ["--dataset", "d.h5"]  # a decision reads runs, no dataset
    args = _script(script).parse_args([*dataset, *paths, *command_line(cls, config).split()])
    assert from_args(cls, args) == from_config(cls, config)
    changed = {spec.name for spec in fields(cls) if getattr(from_config(cls, config), spec.name) != spec.default}
    per_run = {spec.name for spec in fields(cls) if spec.metadata["per_run"]}
    assert changed == (set() if config is CONFIG else {spec.name for spec in fields(cls)} - per_run)


def test_script_defaults_are_the_field_defaults_and_flags_are_kebab_case():
    args = _script("train").parse_args(["--dataset", "d", "--checkpoint-dir", "c", "--log-dir", "l",
                                        "--metrics", "m", "--stats", "s", "--histograms", "h"])
    assert from_args(TrainSettings, args) == TrainSettings()
    assert "--stats-every" in command_line(TrainSettings, CONFIG) and "_" not in command_line(TrainSettings, CONFIG)


def test_the_old_projects_flag_spellings_still_work():
    args = _script("train").parse_args(["--dataset", "d", "--checkpoint-dir", "c", "--log-dir", "l",
                                        "--metrics", "m", "--stats", "s", "--histograms", "h", "--batch_size", "32",
                                        "--learning_rate", "0.01", "--lr_weight_decay"])
    settings = from_args(TrainSettings, args)
    assert (settings.batch_size, settings.learning_rate, settings.lr_weight_decay) == (32, 0.01, True)


@pytest.mark.parametrize("changes, message", [
    ({"steps": 0}, "steps must be at least 1, got 0"),
    ({"stats_every": 0}, "stats_every must be at least 1, got 0"),
    ({"learning_rate": 0.0}, "learning_rate must be above 0, got 0.0"),
    ({"dropout": 1.0}, "dropout must be below 1, got 1.0"),
    ({"histogram_bins": 1}, "histogram_bins must be at least 2, got 1"),
    ({"precision": "float16"}, "unknown precision 'float16'; known: float32, bfloat16"),
    ({"recipe": "fancy"}, "unknown recipe 'fancy'; known: snn, seed"),
    ({"architecture": "resnet"}, "architecture: unknown architecture 'resnet'; known: cnn, mlp (depth from the"),
    ({"histogram_range": (5.0, 1.0)}, "histogram_range: needs low < high, got [5.0, 1.0]"),
    ({"histogram_range": (float("-inf"), 8.0)}, "histogram_range: must be finite, got [-inf, 8.0]"),
    ({"histogram_range": "wide"}, "histogram_range: must be auto or [low, high], got 'wide'"),
])
def test_a_setting_outside_its_limits_is_a_user_error_naming_it(changes, message):
    with pytest.raises(UserError) as error:
        TrainSettings(**changes).check()
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("value, message", [
    (("accuracy", "speed"), "decide_on: unknown 'speed'; known: accuracy, churn, calibration"),
    ((), "decide_on: name one or more of accuracy, churn, calibration, each once"),
    (("churn", "churn"), "decide_on: name one or more of accuracy, churn, calibration, each once"),
])
def test_a_list_setting_takes_only_its_names_each_once(value, message):
    with pytest.raises(UserError) as error:
        ReportSettings(decide_on=value).check()
    assert str(error.value) == message


def test_the_axes_a_study_may_decide_on_are_the_reports_axes():
    from actviz.report.axes import AXES
    from actviz.settings import AXIS_NAMES

    assert AXIS_NAMES == tuple(AXES)
    assert {spec.metadata["items"] for spec in fields(ReportSettings) if spec.name == "decide_on"} == {AXIS_NAMES}


def test_identity_is_every_setting_but_the_length_of_the_run():
    identity = TrainSettings(steps=5).identity()
    # a cnn, its batch order following its seed
    # smelu_beta: a SmeLU run's own (TrainingRun.identity), so that runs from before it resume
    assert set(identity) == {spec.name for spec in fields(TrainSettings)} - {"steps", "depth", "width", "order_seed",
                                                                               "smelu_beta"}
    assert TrainSettings(architecture="mlp", depth=8).identity()["depth"] == 8
    assert TrainSettings(architecture="mlp32", depth=8).identity() == TrainSettings(architecture="mlp32").identity()
    assert TrainSettings(architecture="mlp32").identity()["depth"] == 32
    assert identity == TrainSettings(steps=9).identity() != TrainSettings(seed=1).identity()
    assert TrainSettings(histogram_range=(-4.0, 8.0)).identity()["histogram_range"] == [-4.0, 8.0]  # JSON-ready


def test_a_batch_order_of_its_own_is_part_of_the_identity_and_defaults_to_the_seed():
    assert TrainSettings(seed=1, order_seed=2).identity()["order_seed"] == 2
    assert TrainSettings(seed=1, order_seed=2).identity() != TrainSettings(seed=1).identity()
    assert TrainSettings(seed=3).batch_order_seed() == 3 and TrainSettings(seed=3, order_seed=0).batch_order_seed() == 0
    with pytest.raises(UserError, match="order_seed: must be at least 0, got -1"):
        TrainSettings(order_seed=-1).check()
