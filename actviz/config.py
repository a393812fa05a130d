"""The workflow's config checked before anything runs: the schema (schemas/config.schema.yaml, with
its defaults filled in), the settings' own checks, and the names the package knows. A problem is
one ``UserError`` line naming the key.

Kept free of TensorFlow: Snakemake calls it while it parses the workflow.
"""

import yaml

from actviz.activations import ACTIVATIONS
from actviz.datasets import DATASETS
from actviz.errors import UserError
from actviz.looks import looks_problem, seed_design_problem
from actviz.own_data import find_own_dataset, split_sizes
from actviz.recipes import RECIPES
from actviz.settings import ExtractSettings, ReportSettings, TrainSettings, from_config
from actviz.splits import validation_problem
from actviz.sweeps import check_rungs, check_sweep

SETTINGS = (TrainSettings, ExtractSettings, ReportSettings)


def coerce_list_items(config, properties):
    """Turn the strings that ``--config 'seeds=[0,1]'`` puts in lists into numbers.

    Snakemake parses list values given on the command line with YAML's BaseLoader, which keeps
    every item a string; convert items where the schema wants numbers or booleans.
    """
    for key, value in config.items():
        spec = properties.get(key, {})
        items = [spec.get("items", {})] + [branch.get("items", {}) for branch in spec.get("oneOf", [])]
        item_type = next((i["type"] for i in items if "type" in i), None)
        if isinstance(value, list) and item_type in ("integer", "number", "boolean"):
            config[key] = [yaml.safe_load(v) if isinstance(v, str) else v for v in value]


def integral_floats_to_int(config, properties):
    """Make ``800.0`` where the schema wants an integer ``800``: JSON Schema counts it as an integer, the
    scripts' options and the run paths (``seed0``) do not."""
    def whole(value):
        return int(value) if isinstance(value, float) and value.is_integer() else value

    for key, value in config.items():
        spec = properties.get(key, {})
        if spec.get("type") == "integer":
            config[key] = whole(value)
        elif spec.get("items", {}).get("type") == "integer" and isinstance(value, list):
            config[key] = [whole(v) for v in value]


def check_config(config, schema_path):
    """Check ``config`` (changed in place: typed list items, the schema's defaults filled in)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    with open(schema_path) as f:
        properties = yaml.safe_load(f)["properties"]
    coerce_list_items(config, properties)
    try:
        validate(config, str(schema_path))
    except WorkflowError as error:
        cause = error.__context__  # the jsonschema ValidationError that validate() wrapped
        if not hasattr(cause, "absolute_path"):
            raise
        key = "/".join(str(p) for p in cause.absolute_path)
        raise UserError(f"config: {key}: {cause.message}" if key else f"config: {cause.message}") from None
    integral_floats_to_int(config, properties)
    for settings in SETTINGS:
        try:
            from_config(settings, config).check()
        except UserError as error:
            raise UserError(f"config: {error}") from None
    problem = looks_problem(config["seeds"], config["max_seeds"]) or seed_design_problem(config["seed_design"],
                                                                                          config["seeds"])
    if problem:
        raise UserError(f"config: {problem}")
    config["sweep"] = check_sweep(config["sweep"], from_config(TrainSettings, config))
    check_rungs(config["sweep_rungs"], config["sweep"], config["steps"])
    for key, known in (("activations", ACTIVATIONS), ("recipes", RECIPES)):
        unknown = [name for name in config[key] if name not in known]
        if unknown:
            raise UserError(f"config: {key}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    for name in config["datasets"]:
        if name not in DATASETS and find_own_dataset(name, config["datasets_dir"]) is None:
            raise UserError(f"config: datasets: unknown {name!r}: not one of {', '.join(DATASETS)}, and "
                            f"{config['datasets_dir']}/{name}/ holds neither data.h5 nor data.hy + id.txt")
        sizes = split_sizes(name, config["datasets_dir"], config["test_fraction"])
        for key, split in (("batch_size", "train"), ("probe_size", "test"), ("probe_images", "test")):
            if sizes is not None and config[key] > sizes[split]:
                raise UserError(f"config: {key}: {config[key]} is more than the {sizes[split]} images in the "
                                f"{split} split of dataset {name!r}")
        problem = sizes and validation_problem(config["validation_size"], sizes["train"], config["batch_size"])
        if problem:
            raise UserError(f"config: validation_size: dataset {name!r}: {problem}")
    return config
