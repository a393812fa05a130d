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
    from actviz.sweeps import sweep_settings
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
# One trial of a sweep: a run at one combination of the swept settings (its name, actviz.sweeps.trial_name),
# in a folder of its own before the seed: built on RUN.
TRIAL = os.path.join(os.path.dirname(RUN), "{trial}", os.path.basename(RUN))


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    architecture="cnn|mlp[0-9]*",
    recipe="[a-z0-9_]+",
    activation="[a-z0-9_]+",
    seed="[0-9]+",
    trial="[A-Za-z0-9_.=,+-]+",


def validate_config(config, schema):
    """Check ``config`` (actviz.config.check_config); any problem stops the run with one line naming the key."""
    try:
        check_config(config, os.path.join(workflow.basedir, schema))
    except UserError as error:
        stop(str(error))
    SWEEP.update(sweep_settings(config["sweep"]))


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


# A training job, a final run's or a trial's: the rule's params name its settings and folders.
TRAIN_SHELL = (
    "python scripts/train.py --dataset {input.h5} --architecture {wildcards.architecture} --recipe {wildcards.recipe} "
    "--activation {wildcards.activation} --seed {wildcards.seed} {params.settings} "
    "{params.trial} --threads {threads} --checkpoint-dir {params.checkpoints} --log-dir {params.tensorboard} "
    "--metrics {output.metrics} --stats {output.stats} --histograms {output.histograms} > {log} 2>&1"
)

# Sweeps: {trial name: the settings it changes}; empty without a sweep. Filled by validate_config, from the
# checked sweep (its values typed: 1e-4 written in YAML or on the command line is text until then).
SWEEP = {}


def trial_args(wildcards):
    """train.py's settings flags of a trial: the config's, with the trial's swept values."""
    return command_line(TrainSettings, {**config, **SWEEP[wildcards.trial]})


def selection_file(wildcards):
    """An input function: the selection of a run's activation with a sweep (the select checkpoint's output,
    so that Snakemake runs the trials and the selection first), none without."""
    if not SWEEP:
        return []
    return checkpoints.select.get(
        dataset=wildcards.dataset,
        architecture=wildcards.architecture,
        recipe=wildcards.recipe,
        activation=wildcards.activation,
    ).output.selection


def selection(wildcards):
    """The selection of a run's activation, read."""
    with open(selection_file(wildcards)) as f:
        return json.load(f)


def selections(pattern):
    """Every activation's selection with a sweep (``pattern``: the select checkpoint's output), none without."""
    if not SWEEP:
        return []
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        activation=config["activations"],
    )


def all_trials(pattern):
    """``pattern`` of every trial of the config at every sweep seed; none without a sweep. The report reads
    them (every trial's result), and naming them keeps a report from before a sweep from passing for done:
    Snakemake 9 does not rerun a job whose output exists for a missing checkpoint output alone."""
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        activation=config["activations"],
        trial=list(SWEEP),
        seed=config["sweep_seeds"],
    )


def selected_trial(wildcards):
    """The trial an activation's final runs train: the selected one, the first when every trial diverged."""
    return selection(wildcards)["trial"] or next(iter(SWEEP))


def final_args(wildcards):
    """train.py's settings flags of a final run: the config's, with its activation's selected values."""
    return command_line(TrainSettings, {**config, **(SWEEP[selected_trial(wildcards)] if SWEEP else {})})


def trained_as_trial(wildcards):
    """The trial a final run is (the selected setting at a seed a trial was trained on), or None."""
    if SWEEP and int(wildcards.seed) in config["sweep_seeds"]:
        return selected_trial(wildcards)
    return None


def final_run(pattern, trial_pattern):
    """An input function: a final run's file of ``pattern``, or of ``trial_pattern`` when the run is a trial
    already trained."""

    def path(wildcards):
        trial = trained_as_trial(wildcards)
        return trial_pattern.format(**wildcards, trial=trial) if trial else pattern.format(**wildcards)

    return path


def untrained_runs(pattern):
    """``pattern`` of every final run that trains after the selection: every run without a sweep; with one,
    those at seeds no trial was trained on (the others are the selected trials)."""
    seeds = [s for s in config["seeds"] if not SWEEP or s not in config["sweep_seeds"]]
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        activation=config["activations"],
        seed=seeds,
    )


def trials_of(pattern):
    """An input function of the select checkpoint: ``pattern`` of every trial and sweep seed of its activation."""
    return lambda wildcards: [pattern.format(**wildcards, trial=trial, seed=seed) for trial in SWEEP
                              for seed in config["sweep_seeds"]]


def trial_options(wildcards, input):
    """select.py's --trial NAME METRICS pairs, in the order of ``trials_of``."""
    names = [trial for trial in SWEEP for _ in config["sweep_seeds"]]
    return " ".join(f"--trial {shlex.quote(name)} {shlex.quote(path)}" for name, path in zip(names, input.metrics))


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
