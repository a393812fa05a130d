"""Every training and extraction setting, declared once: name, type, default, one line of help.

train.py's and extract_activations.py's options (``add_options``) and the workflow's command lines
(``command_line``) are generated from these fields. schemas/config.schema.yaml describes the same
keys to users; tests/test_settings.py holds both to the same names, types, defaults and limits. A new
setting is a field here, its entry in the schema and its commented line in config.yaml.

Kept free of TensorFlow so that the workflow can build command lines without loading it.
"""

import argparse
import math
import shlex
import typing
from dataclasses import asdict, dataclass, field, fields
from types import UnionType

from actviz.architectures import architecture_problem, parse_architecture
from actviz.errors import UserError
from actviz.optimizers import OPTIMIZERS
from actviz.recipes import PRECISIONS, RECIPES

LIMITS = {  # JSON Schema keyword -> (test, words for the error)
    "minimum": (lambda value, limit: value >= limit, "at least"),
    "exclusiveMinimum": (lambda value, limit: value > limit, "above"),
    "exclusiveMaximum": (lambda value, limit: value < limit, "below"),
}


def setting(default, help, *, aliases=(), choices=None, metavar=None, per_run=False, hparam=False, check=None,
            parse=None, items=None, **limits):
    """A dataclass field that is a setting: its ``default`` and one line of ``help``.

    ``limits`` are JSON Schema keywords (``minimum=1``, ``exclusiveMaximum=1``) as in the schema;
    ``check(value)`` returns what is wrong with a value, or None; ``aliases`` are extra flags (the
    old project's spellings); ``per_run`` fields come from the run's name (recipe, seed), not from
    a config key of the same name; ``hparam`` ones are TensorBoard's hyper-parameters of a run;
    ``parse(words)`` makes the value of an option that takes one or more words (e.g. "auto" or two numbers);
    ``items``: the values each word of a list setting may take (one or more of them, each once).
    """
    unknown = set(limits) - set(LIMITS)
    if unknown:
        raise TypeError(f"unknown limits {unknown}")
    return field(default=default, metadata={"help": help, "aliases": tuple(aliases), "choices": choices,
                                            "metavar": metavar, "per_run": per_run, "hparam": hparam, "check": check,
                                            "parse": parse, "items": items, "limits": limits})


METAVARS = {int: "N", float: "X"}


def flag(name):
    """The command-line flag of setting ``name``: kebab-case."""
    return "--" + name.replace("_", "-")


def _parse_range(words):
    """``["auto"]`` or two numbers, as the options give them."""
    if words == ["auto"]:
        return "auto"
    try:
        low, high = map(float, words)
    except ValueError:
        raise UserError(f"a range is 'auto' or two numbers LOW HIGH, got {' '.join(words)!r}") from None
    return low, high


def _range_problem(value):
    if value == "auto":
        return None
    if not (isinstance(value, tuple) and len(value) == 2):
        return f"must be auto or [low, high], got {value!r}"
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"must be finite, got [{low}, {high}]"
    if not low < high:
        return f"needs low < high, got [{low}, {high}]"
    return None


def _items_problem(value, known):
    unknown = [v for v in value if v not in known]
    if unknown:
        return f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
    if not value or len(set(value)) != len(value):
        return f"name one or more of {', '.join(known)}, each once"
    return None


AXIS_NAMES = ("accuracy", "churn", "calibration")  # actviz.report.axes.AXES (a test holds them equal)


def _seed_problem(value):
    return None if value is None or value >= 0 else f"must be at least 0, got {value}"


@dataclass(frozen=True)
class Settings:
    """Base of the settings classes: checking against the fields' limits, and their JSON form."""

    def check(self):
        """Raise ``UserError`` naming the first setting whose value is outside its choices or limits."""
        for spec in fields(self):
            value, meta = getattr(self, spec.name), spec.metadata
            if meta["choices"] is not None and value not in meta["choices"]:
                raise UserError(f"unknown {spec.name} {value!r}; known: {', '.join(map(str, meta['choices']))}")
            for keyword, limit in meta["limits"].items():
                test, words = LIMITS[keyword]
                if not test(value, limit):
                    raise UserError(f"{spec.name} must be {words} {limit}, got {value}")
            problem = meta["check"] and meta["check"](value)
            problem = problem or (meta["items"] and _items_problem(value, meta["items"]))
            if problem:
                raise UserError(f"{spec.name}: {problem}")
        return self

    def hparams(self):
        """The settings marked ``hparam``, for TensorBoard's HParams dashboard."""
        return {spec.name: getattr(self, spec.name) for spec in fields(self) if spec.metadata["hparam"]}

    def as_dict(self):
        """The settings as JSON-ready values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# Shared by training and extraction: one definition each, a fresh field per class.
def _histogram_range():
    return setting("auto", "value range of the activation histograms, LOW HIGH, shared by every run and layer; auto: "
                           "each layer's range from the runs' values in the report, each step's own in training",
                   metavar=("auto|LOW", "HIGH"), parse=_parse_range, check=_range_problem)


def _histogram_bins():
    return setting(60, "bins of every activation histogram", minimum=2)


@dataclass(frozen=True)
class TrainSettings(Settings):
    """Everything that defines a training run besides its data and activation."""

    architecture: str = setting("cnn", "cnn: the old project's CNN; mlp: depth dense layers of width units; mlpN: N "
                                       "of them", per_run=True, hparam=True, check=architecture_problem)
    recipe: str = setting("snn", "snn: each activation with its own init and dropout; seed: the old project's setup",
                          choices=tuple(RECIPES), per_run=True, hparam=True)
    seed: int = setting(0, "seed of the weights, the batch order and dropout", per_run=True, minimum=0, hparam=True)
    order_seed: int | None = setting(None, "seed of the batch order alone, apart from the weights' and dropout's "
                                           "(a cell of seed_design crossed); unset: the run's seed", per_run=True,
                                     check=_seed_problem)
    depth: int = setting(16, "hidden layers of the mlp architecture", minimum=1)
    width: int = setting(256, "units of each hidden layer of an mlp", minimum=1)
    steps: int = setting(800, "training steps (batches)", minimum=1)
    batch_size: int = setting(64, "images per training batch", aliases=("--batch_size",), minimum=1, hparam=True)
    validation_size: float = setting(0.1, "train images held out for validation (evaluations, learning curves, "
                                          "selection): a fraction below 1 of the train split, or a count; stratified "
                                          "by class, the same images for every run of a dataset",
                                     exclusiveMinimum=0, hparam=True)
    optimizer: str = setting("adam", "adam; sgd; momentum (SGD with momentum 0.9)", choices=tuple(OPTIMIZERS),
                             hparam=True)
    learning_rate: float = setting(1e-3, "the optimizer's learning rate", aliases=("--learning_rate",),
                                   exclusiveMinimum=0, hparam=True)
    clip_norm: float = setting(20.0, "clip the gradients' global norm at this value before each optimizer step (the "
                                     "old project's 20)",
                               exclusiveMinimum=0, hparam=True)
    lr_weight_decay: bool = setting(False, "halve the learning rate every 10,000 steps",
                                    aliases=("--lr_weight_decay",), hparam=True)
    dropout: float = setting(0.05, "dropout rate of the snn recipe after its dense layers (AlphaDropout for SELU)",
                             minimum=0, exclusiveMaximum=1, hparam=True)
    lrelu_slope: float = setting(0.2, "Leaky ReLU's slope below zero", minimum=0, hparam=True)
    smelu_beta: float = setting(1.0, "SmeLU's half-width beta: the kink of ReLU smoothed over [-beta, beta]",
                                exclusiveMinimum=0)
    log_every: int = setting(50, "steps between scalar summaries (loss, train accuracy, learning rate)", minimum=1)
    eval_every: int = setting(400, "steps between evaluations on the whole validation split (the test split is "
                                   "evaluated once, at the end)", minimum=1)
    stats_every: int = setting(200, "steps between layer statistics of the probe batch", minimum=1)
    histogram_every: int = setting(200, "steps between TensorBoard histograms of every layer", minimum=1)
    image_every: int = setting(800, "steps between tfplot images of every layer", minimum=1)
    checkpoint_every: int = setting(400, "steps between checkpoints a killed run resumes from", minimum=1)
    probe_size: int = setting(128, "test images whose activations the training summaries show", minimum=1)
    precision: str = setting("float32", "bfloat16: layers compute in bfloat16, logits and statistics in float32",
                             choices=tuple(PRECISIONS), hparam=True)
    histogram_range: str | tuple[float, float] = _histogram_range()
    histogram_bins: int = _histogram_bins()

    def identity(self):
        """The settings a checkpoint can be resumed under: all but the length of the run, and of the
        architecture's own settings only those it uses (an mlp's resolved depth and width)."""
        ident = self.as_dict()
        del ident["steps"], ident["smelu_beta"]  # a SmeLU run's own (TrainingRun.identity): other runs resume as before
        if self.order_seed is None:  # the batch order follows the seed: runs from before order_seed resume
            del ident["order_seed"]
        kind, hidden = parse_architecture(self.architecture, self.depth)
        if kind == "cnn":
            del ident["depth"], ident["width"]
        else:
            ident["depth"] = hidden
        return ident

    def batch_order_seed(self):
        """The seed of the run's batch order: order_seed, else the run's seed."""
        return self.seed if self.order_seed is None else self.order_seed


@dataclass(frozen=True)
class ExtractSettings(Settings):
    """What extraction of a run's activations needs besides the run itself."""

    probe_images: int = setting(500, "test images (the first N, the same for every run) whose activations are "
                                     "extracted", minimum=1)


# Shared by the report and the looks' decisions: one definition each, a fresh field per class.
def _equivalence_margin():
    return setting(0.01, "test accuracy difference (a fraction: 0.01 = 1 point) within which two activations are "
                         "called equivalent", aliases=("--margin",), exclusiveMinimum=0, exclusiveMaximum=1)


def _churn_margin():
    return setting(0.01, "churn difference (share of test images two seeds predict differently: 0.01 = 1 point) "
                         "within which two activations are called equivalent", exclusiveMinimum=0, exclusiveMaximum=1)


def _calibration_margin():
    return setting(0.01, "expected calibration error difference (0.01 = 1 point) within which two activations are "
                         "called equivalent", exclusiveMinimum=0, exclusiveMaximum=1)


def _decide_on():
    return setting(("accuracy",), "what a seeds-until-decided study (max_seeds) trains more seeds until it decides: "
                                  "accuracy, churn, calibration", metavar="AXIS", parse=tuple, items=AXIS_NAMES)


@dataclass(frozen=True)
class ReportSettings(Settings):
    """How the report draws what the runs left, and how it decides between activations."""

    histogram_range: str | tuple[float, float] = _histogram_range()
    histogram_bins: int = _histogram_bins()
    equivalence_margin: float = _equivalence_margin()
    max_seeds: int = setting(0, "seeds a setup may grow to until each pair of activations is decided (ahead or "
                                "equivalent), in looks 3 -> 5 -> 8 ...; 0: the seeds given, one look", minimum=0)
    churn_margin: float = _churn_margin()
    calibration_margin: float = _calibration_margin()
    decide_on: tuple[str, ...] = _decide_on()


@dataclass(frozen=True)
class DecideSettings(Settings):
    """What one look of a seeds-until-decided study decides on, and within which margins (the report's fields)."""

    equivalence_margin: float = _equivalence_margin()
    churn_margin: float = _churn_margin()
    calibration_margin: float = _calibration_margin()
    decide_on: tuple[str, ...] = _decide_on()


def add_options(parser, settings_class, title="settings"):
    """Add one option per field of ``settings_class`` to ``parser``, defaults and help from the fields."""
    group = parser.add_argument_group(title)
    types = typing.get_type_hints(settings_class)
    for spec in fields(settings_class):
        kind, meta = types[spec.name], spec.metadata
        also = f"; also {', '.join(meta['aliases'])}" if meta["aliases"] else ""
        options = {"dest": spec.name, "default": spec.default, "help": f"{meta['help']} (default: %(default)s{also})"}
        if meta["parse"]:
            options.update(nargs="+", metavar=meta["metavar"])
        elif kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is UnionType:  # int | None: an int, None by default
            item = typing.get_args(kind)[0]
            options.update(type=item, metavar=meta["metavar"] or METAVARS.get(item))
        elif typing.get_origin(kind) is tuple:
            item_types = typing.get_args(kind)
            options.update(type=item_types[0], nargs=len(item_types), metavar=meta["metavar"])
        else:
            options.update(type=kind, choices=meta["choices"], metavar=meta["metavar"] or METAVARS.get(kind))
        group.add_argument(flag(spec.name), **options)
        for alias in meta["aliases"]:  # the old spellings work, without cluttering the help
            group.add_argument(alias, **{**options, "help": argparse.SUPPRESS, "default": argparse.SUPPRESS,
                                         **({"action": "store_true"} if kind is bool else {})})
    return group


def from_args(settings_class, args):
    """The ``settings_class`` instance that the parsed ``args`` describe (see ``add_options``)."""
    values = {}
    for spec in fields(settings_class):
        value = getattr(args, spec.name)
        if isinstance(value, list):
            value = spec.metadata["parse"](value) if spec.metadata["parse"] else tuple(value)
        values[spec.name] = value
    return settings_class(**values)


def from_config(settings_class, config, **per_run):
    """The ``settings_class`` instance of a workflow ``config``; ``per_run`` gives the per-run fields."""
    values = {spec.name: config[spec.name] for spec in fields(settings_class) if not spec.metadata["per_run"]}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return settings_class(**values, **per_run)


def command_line(settings_class, config):
    """The options that pass ``config``'s values of ``settings_class``'s fields to a script."""
    words = []
    for spec in fields(settings_class):
        if spec.metadata["per_run"]:
            continue
        value = config[spec.name]
        if isinstance(value, bool):
            words.append(flag(spec.name) if value else "--no-" + flag(spec.name)[2:])
        elif isinstance(value, (list, tuple)):
            words += [flag(spec.name), *map(str, value)]
        else:
            words += [flag(spec.name), str(value)]
    return shlex.join(words)
