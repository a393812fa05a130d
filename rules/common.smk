# Helpers shared by the rules: the run path pattern, config checks, the lists of runs and the
# scripts' settings flags. No rules here.
import itertools
import json
import os
import shlex
import sys
import time
from types import SimpleNamespace

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
    from actviz.looks import planned_looks
    from actviz.own_data import find_own_dataset, own_dataset_files
    from actviz.settings import DecideSettings, ExtractSettings, ReportSettings, TrainSettings, command_line, flag
    from actviz.sweeps import rungs, sweep_settings
    from snakemake.exceptions import IncompleteCheckpointException
    from snakemake.iocontainers import Wildcards
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
# A trial trained to one rung (its steps): a grid has one rung, the runs' length; successive halving
# (sweep_rungs) one per entry, each extending the trial's checkpoints from the rung before.
TRIAL_RUNG = os.path.join(TRIAL, "steps{rung}")
# A cell of a crossed seed design off its diagonal: a run's weights and dropout from its seed, its batch order from
# another seed's (the diagonal, order = seed, is the run itself): built on RUN.
CROSSED_RUN = f"{RUN}-order{{order}}"


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    architecture="cnn|mlp[0-9]*",
    recipe="[a-z0-9_]+",
    activation="[a-z0-9_]+",
    seed="[0-9]+",
    trial="[A-Za-z0-9_.=,+-]+",
    rung="[0-9]+",
    look="[0-9]+",
    order="[0-9]+",


def validate_config(config, schema):
    """Check ``config`` (actviz.config.check_config); any problem stops the run with one line naming the key."""
    try:
        check_config(config, os.path.join(workflow.basedir, schema))
    except UserError as error:
        stop(str(error))
    SWEEP.update(sweep_settings(config["sweep"]))
    RUNGS.extend(rungs(config["sweep_rungs"], config["steps"]))
    LOOKS.extend(planned_looks(config["seeds"], config["max_seeds"], config["sweep_seeds"] if SWEEP else ()))


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


def crossed_runs(pattern):
    """``pattern`` of every cell off the diagonal of a crossed seed design (seed_design crossed): each run of the
    config with each other seed of the config as its batch order's; none for joint."""
    if config["seed_design"] != "crossed":
        return []
    return [pattern.format(dataset=d, architecture=a, recipe=r, activation=activation, seed=seed, order=order)
            for d, a, r, activation in itertools.product(config["datasets"], config["architectures"],
                                                         config["recipes"], config["activations"])
            for seed in config["seeds"] for order in config["seeds"] if order != seed]


# A training job, a final run's, a crossed design's cell or a trial's: the rule's params name its settings, what else
# the run is (flags: a trial, an intermediate rung, a batch order of its own) and its folders.
TRAIN_SHELL = (
    "python scripts/train.py --dataset {input.h5} --architecture {wildcards.architecture} --recipe {wildcards.recipe} "
    "--activation {wildcards.activation} --seed {wildcards.seed} {params.settings} "
    "{params.flags} --threads {threads} --checkpoint-dir {params.checkpoints} --log-dir {params.tensorboard} "
    "--metrics {output.metrics} --stats {output.stats} --histograms {output.histograms} > {log} 2>&1"
)

# Sweeps: {trial name: the settings it changes}; empty without a sweep. Filled by validate_config, from the
# checked sweep (its values typed: 1e-4 written in YAML or on the command line is text until then).
SWEEP = {}
# The steps at which each activation's trials are compared: sweep_rungs, or the runs' length alone.
RUNGS = []
# Seeds until decided (max_seeds): the seeds of each look, the config's first; one look without max_seeds.
LOOKS = []
# One look's decision about a setup's activations (the decide checkpoint's output).
DECISION = "results/decisions/{dataset}/{architecture}/{recipe}/look{look}.json"


def trial_args(wildcards):
    """train.py's settings flags of a trial at a rung: the config's, with the trial's swept values and the
    rung's steps."""
    return command_line(TrainSettings, {**config, **SWEEP[wildcards.trial], "steps": int(wildcards.rung)})


def trial_flags(wildcards):
    """train.py's flags naming a trial, and marking a rung before the last as intermediate."""
    last = int(wildcards.rung) == RUNGS[-1]
    return f"--trial {shlex.quote(wildcards.trial)}" + ("" if last else " --intermediate")


def rung_before(rung):
    """The rung before ``rung`` (text, a wildcard), None for the first; a rung not in sweep_rungs stops the run."""
    if int(rung) not in RUNGS:
        stop(f"steps{rung}: not a rung of this config's sweep ({', '.join(map(str, RUNGS))})")
    index = RUNGS.index(int(rung))
    return RUNGS[index - 1] if index else None


def trial_before(pattern):
    """An input function of a trial at a rung: ``pattern`` of the same trial at the rung before (its checkpoints
    are what this rung extends), none at the first rung."""

    def path(wildcards):
        before = rung_before(wildcards.rung)
        return [] if before is None else pattern.format(**{**wildcards, "rung": before})

    return path


def selection_at(wildcards, rung):
    """The select checkpoint's output of a run's activation at ``rung`` (so that Snakemake runs that rung's
    trials and selection first)."""
    return checkpoints.select.get(
        dataset=wildcards.dataset,
        architecture=wildcards.architecture,
        recipe=wildcards.recipe,
        activation=wildcards.activation,
        rung=rung,
    ).output.selection


def read_json(path):
    with open(path) as f:
        return json.load(f)


def selection_file(wildcards):
    """An input function: the selection of a run's activation with a sweep (the last rung's), none without."""
    return selection_at(wildcards, RUNGS[-1]) if SWEEP else []


def selection(wildcards):
    """The selection of a run's activation, read."""
    return read_json(selection_file(wildcards))


def selection_before(wildcards):
    """An input function of the select checkpoint: the rung before's selection (whose survivors this rung
    trained), none at the first rung."""
    before = rung_before(wildcards.rung)
    return [] if before is None else selection_at(wildcards, before)


def candidates(wildcards):
    """The trials of an activation trained to a rung: every trial at the first, the survivors of the rung
    before at the others."""
    before = selection_before(wildcards)
    return read_json(before)["survivors"] if before else list(SWEEP)


def selections(pattern):
    """Every activation's selection with a sweep (``pattern``: the select checkpoint's output at the last rung),
    none without."""
    if not SWEEP:
        return []
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        activation=config["activations"],
        rung=RUNGS[-1],
    )


def first_rung_trials(pattern):
    """``pattern`` of every trial of the config at every sweep seed at the first rung, which every trial is
    trained to; none without a sweep. The report reads them, and naming them outright keeps a report from before
    a sweep, or before a value was added to it, from passing for done: Snakemake 9 does not rerun a job whose
    output exists for a missing checkpoint output alone."""
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        activation=config["activations"],
        trial=list(SWEEP),
        seed=config["sweep_seeds"],
        rung=RUNGS[:1],
    )


def extended_trials(pattern):
    """An input function of the report: with sweep_rungs, ``pattern`` of every trial at every later rung it was
    extended to (the survivors of the rung before) and at every sweep seed; none for a grid. Before the
    selections are made it names none rather than waiting on a checkpoint (Snakemake 9 would then keep an
    existing report): the report depends on the last rung's selections through its own input, and Snakemake
    asks again once they are made."""

    def paths(wildcards):
        try:
            return extended(pattern)
        except IncompleteCheckpointException:
            return []

    return paths


def extended(pattern):
    """``pattern`` of every trial at every rung after the first it was extended to, at every sweep seed."""
    found = []
    for dataset, architecture, recipe, activation in itertools.product(
        config["datasets"], config["architectures"], config["recipes"], config["activations"]
    ):
        run = SimpleNamespace(dataset=dataset, architecture=architecture, recipe=recipe, activation=activation)
        for before, rung in zip(RUNGS, RUNGS[1:]):
            names = read_json(selection_at(run, before))["survivors"]
            if rung == RUNGS[-1] and set(config["seeds"]) & set(config["sweep_seeds"]):
                # the trial the final runs are: the stand-in when every trial diverged (selected_trial)
                names = list(dict.fromkeys([*names, selected_trial(run)]))
            found += [pattern.format(**vars(run), trial=trial, seed=seed, rung=rung)
                      for trial in names for seed in config["sweep_seeds"]]
    return found


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
    """An input function: a final run's file of ``pattern``, or of ``trial_pattern`` (at the last rung) when the
    run is a trial already trained."""

    def path(wildcards):
        trial = trained_as_trial(wildcards)
        if trial:
            return trial_pattern.format(**wildcards, trial=trial, rung=RUNGS[-1])
        return pattern.format(**wildcards)

    return path


def run_predictions(pattern):
    """An input function: a final run's predictions of ``pattern``, none when the run is a trial already trained
    (trials record none: the decisions and the report compare churn and calibration without it)."""

    def path(wildcards):
        return [] if trained_as_trial(wildcards) else [pattern.format(**wildcards)]

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
    """An input function of the select checkpoint: ``pattern`` of every candidate and sweep seed at its rung."""
    return lambda wildcards: [pattern.format(**wildcards, trial=trial, seed=seed) for trial in candidates(wildcards)
                              for seed in config["sweep_seeds"]]


def trial_options(wildcards, input):
    """select.py's options: --trial NAME METRICS pairs in the order of ``trials_of``, the rung, the rung
    before's selection, and whether the better half goes on (every rung but the last)."""
    names = [trial for trial in candidates(wildcards) for _ in config["sweep_seeds"]]
    options = [f"--trial {shlex.quote(name)} {shlex.quote(path)}" for name, path in zip(names, input.metrics)]
    options.append(f"--rung {wildcards.rung}")
    if input.previous:
        options.append(f"--previous {shlex.quote(input.previous)}")
    if int(wildcards.rung) != RUNGS[-1]:
        options.append("--halve")
    return " ".join(options)


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


def decision_at(wildcards, look):
    """The decide checkpoint's output of a setup at ``look`` (so that Snakemake makes that look first)."""
    return checkpoints.decide.get(
        dataset=wildcards.dataset, architecture=wildcards.architecture, recipe=wildcards.recipe, look=look
    ).output.decision


def decision_before(wildcards):
    """An input function of the decide checkpoint: the look before's decision, none at the first look."""
    look = int(wildcards.look)
    return [] if look == 0 else decision_at(wildcards, look - 1)


def look_runs(pattern):
    """An input function of the decide checkpoint: ``pattern`` (an input function of one run, as ``final_run``)
    of every activation at the look's seeds; none once a look before stopped the study."""

    def paths(wildcards):
        before = decision_before(wildcards)
        if before and read_json(before)["stopped"]:
            return []
        runs = [
            pattern(Wildcards(fromdict={**dict(wildcards.items()), "activation": activation, "seed": str(seed)}))
            for activation in config["activations"]
            for seed in LOOKS[int(wildcards.look)]
        ]
        return [path for run in runs for path in ([run] if isinstance(run, str) else run)]

    return paths


def decision_options(wildcards, input):
    """decide.py's option naming the look before's decision, if any."""
    return f"--previous {shlex.quote(input.previous)}" if input.previous else ""


def look_decisions(pattern):
    """``pattern`` (the decide checkpoint's output) of every setup at every planned look; none without looks. The
    report names them all, so that Snakemake updates it after each look's decision: the seeds that look adds join
    its inputs (``with_looks``) then, and their extraction fills the cores while the next look's last runs train."""
    if len(LOOKS) < 2:
        return []
    return expand(
        pattern,
        dataset=config["datasets"],
        architecture=config["architectures"],
        recipe=config["recipes"],
        look=range(len(LOOKS)),
    )


def with_looks(runs, pattern):
    """An input function of the report: ``runs(pattern)`` (the config's seeds), then ``pattern`` of every activation
    at the seeds the looks added, as far as the decisions made so far tell (``added_seeds``): rather than wait on a
    checkpoint for all of them (as ``extended_trials``), it names a look's seeds as soon as the look before decided
    to go on, and Snakemake asks again after each decision (the report names every look's, ``look_decisions``)."""

    def paths(wildcards):
        added = [
            pattern.format(dataset=d, architecture=a, recipe=r, activation=activation, seed=seed)
            for d, a, r in itertools.product(config["datasets"], config["architectures"], config["recipes"])
            for seed in added_seeds(SimpleNamespace(dataset=d, architecture=a, recipe=r))
            for activation in config["activations"]
        ]
        return runs(pattern) + added

    return paths


def added_seeds(setup):
    """The seeds a setup's looks train beyond the config's, as far as its decisions made so far tell: a look's seeds
    once the look before left a pair undecided, up to the look where the study stopped (or the last made)."""
    seeds = []
    for look in range(1, len(LOOKS)):
        try:
            if read_json(decision_at(setup, look - 1))["stopped"]:
                break
        except IncompleteCheckpointException:  # not decided yet: the report asks again once it is
            break
        seeds = LOOKS[look]
    return [s for s in seeds if s not in config["seeds"]]

