# Helpers shared by the rules: the run path pattern, config checks, the lists of runs and the
# scripts' settings flags. No rules here.
import json
import os
import shlex
import sys


def stop(message):
    """End the run with one line for the user, no traceback."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    from actviz.activations import ACTIVATIONS
    from actviz.datasets import DATASETS
    from actviz.errors import UserError
    from actviz.own_data import find_own_dataset, own_dataset_files
    from actviz.recipes import RECIPES
    from actviz.settings import ExtractSettings, TrainSettings, command_line, from_config
except ImportError as error:
    stop(f"{error}: install the project into the Python that runs Snakemake (`make`, or pip install -e .)")

# Jobs run `python scripts/...` with the Python running Snakemake (e.g. .venv's, even when snakemake
# is called by its path) and import this checkout's actviz, also inside a conda environment of
# envs/ (--sdm conda), which holds only the third-party packages. An activated conda env still comes first.
os.environ.update(
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])),
)

# One run: a dataset, a recipe, an activation and a seed. Every rule's path of a run is built on this.
RUN = "{dataset}/{recipe}/{activation}/seed{seed}"


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    recipe="[a-z0-9_]+",
    activation="[a-z0-9_]+",
    seed="[0-9]+",


def coerce_list_items(config, schema):
    """Turn the strings that ``--config 'seeds=[0,1]'`` puts in lists into numbers.

    Snakemake parses list values given on the command line with YAML's BaseLoader, which keeps
    every item a string; convert items where the schema wants numbers or booleans.
    """
    import yaml

    with open(schema) as f:
        properties = yaml.safe_load(f)["properties"]
    for key, value in config.items():
        item_type = properties.get(key, {}).get("items", {}).get("type")
        if isinstance(value, list) and item_type in ("integer", "number", "boolean"):
            config[key] = [yaml.safe_load(v) if isinstance(v, str) else v for v in value]


def validate_config(config, schema):
    """Check ``config`` against ``schema`` (filling defaults), the settings' own checks and the
    package's known names. Any problem stops the run with one line naming the key."""
    coerce_list_items(config, schema)
    try:
        validate(config, schema)
    except WorkflowError as error:
        cause = error.__context__  # the jsonschema ValidationError that validate() wrapped
        if not hasattr(cause, "absolute_path"):
            raise
        key = "/".join(str(p) for p in cause.absolute_path)
        stop(f"config: {key}: {cause.message}" if key else f"config: {cause.message}")
    for settings in (TrainSettings, ExtractSettings):
        try:
            from_config(settings, config).check()
        except UserError as error:
            stop(f"config: {error}")
    for key, known in (("activations", ACTIVATIONS), ("recipes", RECIPES)):
        unknown = [name for name in config[key] if name not in known]
        if unknown:
            stop(f"config: {key}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    for name in config["datasets"]:
        if name not in DATASETS and find_own_dataset(name, config["datasets_dir"]) is None:
            stop(
                f"config: datasets: unknown {name!r}: not one of {', '.join(DATASETS)}, and "
                f"{config['datasets_dir']}/{name}/ holds neither data.h5 nor data.hy + id.txt"
            )


def convert_source(wildcards):
    """The folder convert.py reads: verified raw files, or the own dataset's folder."""
    if wildcards.dataset in DATASETS:
        return os.path.dirname(rules.download.output.manifest.format(dataset=wildcards.dataset))
    return str(find_own_dataset(wildcards.dataset, config["datasets_dir"]))


def convert_inputs(wildcards):
    """The download step's manifest for a built-in dataset, the own dataset's files otherwise."""
    if wildcards.dataset in DATASETS:
        return [rules.download.output.manifest.format(dataset=wildcards.dataset)]
    return [str(p) for p in own_dataset_files(convert_source(wildcards))]


def run_outputs(pattern):
    """``pattern`` expanded over every (dataset, recipe, activation, seed) run of the config."""
    return expand(
        pattern,
        dataset=config["datasets"],
        recipe=config["recipes"],
        activation=config["activations"],
        seed=config["seeds"],
    )


def mirror_args(config):
    return " ".join(f"--mirror {shlex.quote(m)}" for m in config["mirrors"])


def train_args(config):
    """The config's training settings as train.py's flags (generated from actviz.settings)."""
    return command_line(TrainSettings, config)


def extract_args(config):
    """The config's extraction settings as extract_activations.py's flags."""
    return command_line(ExtractSettings, config)


def config_json(config):
    return json.dumps(config, sort_keys=True)
