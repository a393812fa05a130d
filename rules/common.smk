# Helpers shared by the rules: the run path pattern, config checks, the lists of runs and the
# scripts' settings flags. No rules here.
import json
import os
import shlex
import sys
import time

STARTED = time.time()  # outputs modified since were written by this run


def stop(message):
    """End the run with one line for the user, no traceback."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    from actviz.closing import after_failure, after_success
    from actviz.config import check_config
    from actviz.datasets import DATASETS
    from actviz.errors import UserError
    from actviz.own_data import find_own_dataset, own_dataset_files
    from actviz.settings import ExtractSettings, ReportSettings, TrainSettings, command_line, flag
except ImportError as error:
    stop(f"{error}: install the project into the Python that runs Snakemake (`make`, or pip install -e .)")

# Jobs run `python scripts/...` with the Python running Snakemake (e.g. .venv's, even when snakemake
# is called by its path) and import this checkout's actviz, also inside a conda environment of
# envs/ (--sdm conda), which holds only the third-party packages. An activated conda env still comes first.
os.environ.update(
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])),
)

# One run: a dataset, an architecture, a recipe, an activation and a seed. Every rule's path of a run
# is built on this.
RUN = "{dataset}/{architecture}/{recipe}/{activation}/seed{seed}"


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    architecture="cnn|mlp[0-9]*",
    recipe="[a-z0-9_]+",
    activation="[a-z0-9_]+",
    seed="[0-9]+",


def validate_config(config, schema):
    """Check ``config`` (actviz.config.check_config); any problem stops the run with one line naming the key."""
    try:
        check_config(config, os.path.join(workflow.basedir, schema))
    except UserError as error:
        stop(str(error))


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
    """``pattern`` expanded over every (dataset, architecture, recipe, activation, seed) run of the config."""
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
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


def report_args(config):
    """The config's report settings as report.py's flags."""
    return command_line(ReportSettings, config)


def named_options(files):
    """``{name: path or paths}`` as options ``--name path ...`` (a script whose options are those names)."""
    return " ".join(f"{flag(name)} {' '.join(map(shlex.quote, [paths] if isinstance(paths, str) else paths))}"
                    for name, paths in files.items())


def config_json(config):
    return json.dumps(config, sort_keys=True)
