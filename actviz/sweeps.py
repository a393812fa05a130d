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
             "smelu_beta", "lr_weight_decay")


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


def check_rungs(sweep_rungs, sweep, steps):
    """Raise ``UserError`` unless ``sweep_rungs`` (successive halving: the steps at which each activation's trials
    are compared and halved) is empty or a sweep's increasing steps ending at the runs' length ``steps``."""
    if not sweep_rungs:
        return
    if not sweep:
        raise UserError("config: sweep_rungs: successive halving compares a sweep's trials; sweep is empty")
    if any(later <= earlier for earlier, later in zip(sweep_rungs, sweep_rungs[1:])):
        raise UserError(f"config: sweep_rungs: steps in increasing order, got {sweep_rungs}")
    if sweep_rungs[-1] != steps:
        raise UserError(f"config: sweep_rungs: the last rung is the final runs' length, steps={steps}; got "
                        f"{sweep_rungs[-1]}")


def rungs(sweep_rungs, steps):
    """The steps at which a sweep's trials are compared: ``sweep_rungs``, or only the runs' length (a grid)."""
    return list(sweep_rungs) or [steps]


def select(results, sweep, candidates=None, keep=1):
    """Rank one activation's trials at one rung from ``results``: {trial name: [(validation accuracy or None,
    diverged step or None) per sweep seed]}. ``candidates``: the trials trained to this rung (None: every
    trial); ``keep``: how many of them go on (the better half at a rung before the last; at the last, 1).
    The highest mean validation accuracy over the seeds ranks first; a trial with a diverged seed never goes on;
    ties go to the first in the config's order. Returns {"trial": the best (None when every candidate
    diverged), "settings", "validation_accuracy", "trials": how many the sweep has, "ranked": [(name, mean or
    None)] of the candidates in the config's order, "order": those that never diverged, best first,
    "survivors": the ``keep`` best}."""
    ranked = []
    for name, _ in trials(sweep):
        if candidates is not None and name not in candidates:
            continue
        seeds = results.get(name, [])
        finite = seeds and all(step is None and accuracy is not None for accuracy, step in seeds)
        ranked.append((name, sum(a for a, _ in seeds) / len(seeds) if finite else None))
    order = [name for _, _, name in sorted((-mean, index, name) for index, (name, mean) in enumerate(ranked)
                                           if mean is not None)]
    best = order[0] if order else None
    return {"trial": best, "settings": sweep_settings(sweep).get(best), "trials": len(trials(sweep)),
            "ranked": ranked, "order": order, "survivors": order[:keep], "validation_accuracy": dict(ranked).get(best)}


def halved(count):
    """How many of ``count`` trials go on from a rung before the last: the better half, rounded up."""
    return math.ceil(count / 2)


def select_from_files(sweep, trial_files, out_path, rung=None, previous=None, last=True):
    """Read the metrics.json of every trial trained to this rung (``trial_files``: [(trial name, path)], every
    seed of every candidate of one activation), rank them (``select``), write the selection JSON to
    ``out_path`` and return it: what ``select`` returns, the run's identity (dataset, architecture, recipe,
    activation), every trial seed's result at the last rung it reached (those stopped at an earlier rung from
    ``previous``, that rung's selection) and "rungs": [{"steps", "trials", "survivors"}] so far. ``rung``: the
    steps trained (None: a grid, the runs' length); ``last``: the final rung, where the best is selected; else
    the better half goes on."""
    from actviz.atomic import write_json

    candidates = previous["survivors"] if previous else [name for name, _ in trials(sweep)]
    results, identity = {}, ({k: previous[k] for k in ("dataset", "architecture", "recipe", "activation")}
                             if previous else None)
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
        if name not in candidates:
            raise UserError(f"{path}: trial {name!r} is not one of this rung's: {', '.join(candidates)}")
        results.setdefault(name, []).append({"seed": metrics["seed"], "steps": metrics["final_step"],
                                             "validation_accuracy": metrics.get("validation_accuracy"),
                                             "validation_loss": metrics.get("validation_loss"),
                                             "validation_size": metrics.get("validation_size"),
                                             "validation_correct": metrics.get("validation_correct"),
                                             "diverged_at_step": metrics.get("diverged_at_step")})
    chosen = select({name: [(r["validation_accuracy"], r["diverged_at_step"]) for r in seeds]
                     for name, seeds in results.items()}, sweep, candidates,
                    1 if last else halved(len(candidates)))
    rungs_so_far = [*(previous or {}).get("rungs", []),
                    {"steps": rung, "trials": candidates, "survivors": chosen["survivors"],
                     "margin": margin(chosen["order"], results)}]
    everyone = {**(previous or {}).get("results", {}), **results}
    selection = {**identity, "run": "/".join(identity.values()), **chosen, "sweep": sweep, "rungs": rungs_so_far,
                 "results": {name: sorted(everyone[name], key=lambda r: r["seed"])
                             for name, _ in trials(sweep) if name in everyone}}
    write_json(out_path, selection, strict=True)
    return selection


def margin(order, results):
    """How far the best trial of a rung is ahead of the runner-up on the validation split: the difference of
    their accuracies with its 95% interval and test (``actviz.report.uncertainty``), paired by seed with two or
    more sweep seeds, by validation image with one (exact McNemar); None with fewer than two trials that never
    diverged, or without each image's result. ``order``: ``select``'s; ``results``: each trial's seeds, as
    ``select_from_files`` reads them."""
    from actviz.evaluation import unpack_bits
    from actviz.report import uncertainty

    if len(order) < 2:
        return None
    best, runner_up = (sorted(results[name], key=lambda r: r["seed"]) for name in order[:2])
    found = {"best": order[0], "runner_up": order[1]}
    if len(best) >= 2:
        return {**found, **uncertainty.paired_seeds_difference([r["validation_accuracy"] for r in best],
                                                               [r["validation_accuracy"] for r in runner_up])}
    if best[0]["validation_correct"] is None or runner_up[0]["validation_correct"] is None:
        return None
    size = best[0]["validation_size"]
    return {**found, **uncertainty.mcnemar_difference(unpack_bits(best[0]["validation_correct"], size),
                                                      unpack_bits(runner_up[0]["validation_correct"], size),
                                                      split="validation")}
