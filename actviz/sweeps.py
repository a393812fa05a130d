"""Sweeps: every combination of the config's ``sweep`` values is a trial, trained per activation on
``sweep_seeds``; the trial with the highest mean validation accuracy at its last step is selected per
activation, and the final runs train that setting on ``seeds``. Plain data (no TensorFlow): the
workflow names the trials and reads the selection through it.
"""

import itertools
import json
import math
import typing
from dataclasses import replace

from actviz.errors import UserError
from actviz.settings import TrainSettings

# The training settings a sweep may vary: what changes how a run learns, not its identity (architecture,
# recipe, seed), its length (steps), its data (validation_size) or what it records.
SWEEPABLE = ("learning_rate", "optimizer", "dropout", "depth", "width", "batch_size", "clip_norm", "lrelu_slope",
             "lr_weight_decay")


TYPE_WORDS = {int: "a whole number", float: "a finite number", bool: "true or false", str: "a name"}


def check_sweep(sweep, base):
    """``sweep`` with values written as text made numbers where the setting is one (YAML reads ``1e-4`` as
    text, ``--config`` every value); raise ``UserError`` naming the first sweep key or value that is not a
    sweepable training setting of the right type and within its limits. ``base``: the config's training
    settings (``TrainSettings``)."""
    if not isinstance(sweep, dict):
        raise UserError(f"config: sweep: a mapping of settings to lists of values, got {sweep!r}")
    types = typing.get_type_hints(TrainSettings)
    sweep = {key: [_typed(types.get(key), v) for v in values] if isinstance(values, list) else values
             for key, values in sweep.items()}
    for key, values in sweep.items():
        if key not in SWEEPABLE:
            raise UserError(f"config: sweep: {key!r} is not a setting a sweep can vary; sweepable: "
                            f"{', '.join(SWEEPABLE)}")
        if not isinstance(values, list) or not values:
            raise UserError(f"config: sweep: {key}: a non-empty list of values, got {values!r}")
        if len(set(map(json.dumps, values))) != len(values):
            raise UserError(f"config: sweep: {key}: a value is listed twice ({values})")
        for value in values:
            kind = types[key]
            fits = (isinstance(value, bool) if kind is bool else
                    isinstance(value, int) and not isinstance(value, bool) if kind is int else
                    isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
                    isinstance(value, kind))
            if not fits or (kind is float and not math.isfinite(value)):
                raise UserError(f"config: sweep: {key}: {value!r} is not {TYPE_WORDS[kind]}")
            try:
                replace(base, **{key: value}).check()
            except UserError as error:
                raise UserError(f"config: sweep: {key}: {error}") from None
    return sweep


def _typed(kind, value):
    """A value written as text, as the number or truth value its setting takes; else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        if kind is float:
            return float(value)
        if kind is int:
            return int(value)
    except ValueError:
        return value
    if kind is bool and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def trials(sweep):
    """Every combination of the ``sweep`` values, in the config's order (the first key slowest): a list of
    (trial name, {setting: value})."""
    keys = list(sweep)
    if not keys:  # no sweep, no trials (the product of no lists would be one empty combination)
        return []
    return [(trial_name(dict(zip(keys, values))), dict(zip(keys, values)))
            for values in itertools.product(*(sweep[k] for k in keys))]


def trial_name(overrides):
    """A trial's name, its folder in the results: ``learning_rate=0.0003,optimizer=adam``."""
    return ",".join(f"{key}={_word(value)}" for key, value in overrides.items())


def _word(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def sweep_settings(sweep):
    """The trials as {name: overrides}."""
    return dict(trials(sweep))


def select(results, sweep):
    """The selected trial of one activation from ``results``: {trial name: [(validation accuracy or None,
    diverged step or None) per sweep seed]}. The highest mean validation accuracy over the seeds wins; a
    trial with a diverged seed never does; ties go to the first in the config's order. Returns
    {"trial", "settings", "validation_accuracy", "trials", "ranked": [(name, mean or None)]}; "trial" is
    None when every trial diverged."""
    ranked = []
    for name, _ in trials(sweep):
        seeds = results.get(name, [])
        finite = seeds and all(step is None and accuracy is not None for accuracy, step in seeds)
        ranked.append((name, sum(a for a, _ in seeds) / len(seeds) if finite else None))
    candidates = [(mean, -index, name) for index, (name, mean) in enumerate(ranked) if mean is not None]
    best = max(candidates)[2] if candidates else None
    return {"trial": best, "settings": sweep_settings(sweep).get(best), "trials": len(ranked), "ranked": ranked,
            "validation_accuracy": dict(ranked).get(best)}


def select_from_files(sweep, trial_files, out_path):
    """Read every trial's metrics.json (``trial_files``: [(trial name, path)], every seed of every trial of one
    activation), select (``select``), write the selection JSON to ``out_path`` and return it: what ``select``
    returns, the run's identity (dataset, architecture, recipe, activation), and every trial seed's result."""
    from actviz.atomic import write_json

    results, identity = {}, None
    for name, path in trial_files:
        try:
            with open(path) as f:
                metrics = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise UserError(f"{path}: cannot read ({error})") from None
        ident = {k: metrics[k] for k in ("dataset", "architecture", "recipe", "activation")}
        if identity not in (None, ident):
            raise UserError(f"{path}: a trial of {ident}, not of {identity}")
        identity = ident
        if name not in sweep_settings(sweep):
            raise UserError(f"{path}: trial {name!r} is not one of the sweep's")
        results.setdefault(name, []).append({"seed": metrics["seed"], "steps": metrics["final_step"],
                                             "validation_accuracy": metrics.get("validation_accuracy"),
                                             "validation_loss": metrics.get("validation_loss"),
                                             "diverged_at_step": metrics.get("diverged_at_step")})
    chosen = select({name: [(r["validation_accuracy"], r["diverged_at_step"]) for r in seeds]
                     for name, seeds in results.items()}, sweep)
    selection = {**identity, "run": "/".join(identity.values()), **chosen, "sweep": sweep,
                 "results": {name: sorted(seeds, key=lambda r: r["seed"]) for name, seeds in results.items()}}
    write_json(out_path, selection, strict=True)
    return selection
