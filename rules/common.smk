# Helpers shared by the rules: config checks and the lists of runs. No rules here.
import json
import os
import sys

sys.path.insert(0, workflow.basedir)
# Rules run `python scripts/...`: let that be the Python running Snakemake (e.g. .venv's, even
# when snakemake is called by its path). A conda env activated for a job still comes first.
os.environ.update(PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))

from actviz.activations import ACTIVATIONS
from actviz.datasets import DATASETS
from actviz.own_data import find_own_dataset, own_dataset_files
from actviz.recipes import RECIPES


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    recipe="[a-z0-9_]+",
    activation="[a-z0-9_]+",
    seed="[0-9]+",


def stop(message):
    """End the run with one line for the user, no traceback."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


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
    """Check ``config`` against ``schema`` (filling defaults) and the package's known names.

    Any problem stops the run with one line naming the key.
    """
    coerce_list_items(config, schema)
    try:
        validate(config, schema)
    except WorkflowError as error:
        cause = error.__context__  # the jsonschema ValidationError that validate() wrapped
        if not hasattr(cause, "absolute_path"):
            raise
        key = "/".join(str(p) for p in cause.absolute_path)
        stop(f"config: {key}: {cause.message}" if key else f"config: {cause.message}")
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
    low, high = config["histogram_range"]
    if not low < high:
        stop(f"config: histogram_range: needs low < high, got [{low}, {high}]")


def convert_source(wildcards):
    """The folder convert.py reads: verified raw files, or the own dataset's folder."""
    if wildcards.dataset in DATASETS:
        return f"results/raw/{wildcards.dataset}"
    return str(find_own_dataset(wildcards.dataset, config["datasets_dir"]))


def convert_inputs(wildcards):
    """The download step's manifest for a built-in dataset, the own dataset's files otherwise."""
    if wildcards.dataset in DATASETS:
        return [f"results/raw/{wildcards.dataset}/manifest.json"]
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
    return " ".join(f"--mirror {shell_quote(m)}" for m in config["mirrors"])


def shell_quote(text):
    import shlex

    return shlex.quote(str(text))


def train_args(config):
    """The training settings of the config as train.py flags."""
    low, high = config["histogram_range"]
    flags = [
        f"--steps {config['steps']}",
        f"--batch_size {config['batch_size']}",
        f"--learning_rate {config['learning_rate']}",
        f"--dropout {config['dropout']}",
        f"--lrelu-slope {config['lrelu_slope']}",
        f"--log-every {config['log_every']}",
        f"--eval-every {config['eval_every']}",
        f"--stats-every {config['stats_every']}",
        f"--histogram-every {config['histogram_every']}",
        f"--image-every {config['image_every']}",
        f"--checkpoint-every {config['checkpoint_every']}",
        f"--probe-size {config['probe_size']}",
        f"--histogram-range {low} {high}",
        f"--histogram-bins {config['histogram_bins']}",
        f"--precision {config['precision']}",
    ]
    if config["lr_weight_decay"]:
        flags.append("--lr_weight_decay")
    return " ".join(flags)


def extract_args(config):
    low, high = config["histogram_range"]
    return (
        f"--probe-images {config['probe_images']} --histogram-range {low} {high} "
        f"--histogram-bins {config['histogram_bins']}"
    )


def config_json(config):
    return json.dumps(config, sort_keys=True)
