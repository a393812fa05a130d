"""The report's numbers about a sweep: every trial's result, each activation's selection with its margin over the
runner-up (trials.csv, selected.csv), how validation accuracy depends on each swept setting, and which trials' files
the report compares (the selected ones, at the last rung each reached). Plain data."""

from collections import defaultdict
from pathlib import Path

import numpy as np

from actviz.errors import UserError, load_json

# What a sweep's selection is made for: a setup's activation.
SELECTION_KEYS = ("dataset", "architecture", "recipe", "activation")
# The columns of trials.csv and selected.csv; every swept setting's column comes after the first four.
TRIAL_COLUMNS = (*SELECTION_KEYS, "trial", "seed", "steps", "validation_accuracy", "validation_loss",
                 "diverged_at_step", "selected")
SELECTED_COLUMNS = (*SELECTION_KEYS, "trial", "validation_accuracy", "trials", "seeds", "rungs", "runner_up",
                    "compared_at_step", "difference", "ci_low", "ci_high", "p_value", "method")
MARGIN_KEYS = ("difference", "ci_low", "ci_high", "p_value", "method")


def sweep_rows(trials, selections):
    """A sweep's trials and selections as table rows: {"trials": one row per trial and seed (its swept settings,
    steps reached, validation result, whether selected), "selected": one row per activation (the selected
    settings, their mean validation accuracy, the number of trials), "keys": the swept settings}; empty
    without a sweep. ``trials``: the trials' metrics; ``selections``: select_trial.py's JSON."""
    keys = list(dict.fromkeys(k for s in selections for k in s["sweep"]))
    chosen = {tuple(s[k] for k in SELECTION_KEYS): s for s in selections}
    trial_rows = []
    for m in sorted(trials, key=lambda m: (*(m[k] for k in SELECTION_KEYS), m["trial"] or "", m["seed"])):
        ident = tuple(m[k] for k in SELECTION_KEYS)
        selection = chosen.get(ident, {})
        trial_rows.append({**dict(zip(SELECTION_KEYS, ident)), **{k: m["settings"].get(k) for k in keys},
                           "trial": m["trial"], "seed": m["seed"], "steps": m["final_step"],
                           "validation_accuracy": m.get("validation_accuracy"),
                           "validation_loss": m.get("validation_loss"), "diverged_at_step": m.get("diverged_at_step"),
                           "selected": m["trial"] == selection.get("trial")})
    selected_rows = [{**{k: s[k] for k in SELECTION_KEYS}, **{k: (s["settings"] or {}).get(k) for k in keys},
                      "trial": s["trial"], "validation_accuracy": s["validation_accuracy"], "trials": s["trials"],
                      "seeds": len(next(iter(s["results"].values()), [])), **margin_row(s)} for s in selections]
    return {"trials": trial_rows, "selected": selected_rows, "keys": keys}


def margin_row(selection):
    """The rungs of a selection (their steps; one for a grid) and how far its best trial was ahead of the
    runner-up at the last rung that had two trials to compare (``actviz.sweeps.margin``); None where none had."""
    rungs = selection.get("rungs") or []
    compared = next((r for r in reversed(rungs) if r.get("margin")), None)
    margin = compared["margin"] if compared else {}
    return {"rungs": [r["steps"] for r in rungs], "runner_up": margin.get("runner_up"),
            "compared_at_step": compared["steps"] if compared else None, **{k: margin.get(k) for k in MARGIN_KEYS}}


def sensitivity(trial_rows, setup, keys, activations):
    """How validation accuracy depends on each swept setting in one setup: {key: {activation: [(value, mean, low,
    high) or (value, None, None, None) where every trial with that value diverged]}}, the values in the sweep's
    order; at each value the best trial with it (over the other swept settings), its mean over the sweep seeds
    and their range. ``trial_rows``: ``sweep_rows``' trials."""
    mine = [r for r in trial_rows if (r["dataset"], r["architecture"], r["recipe"]) == tuple(setup)]
    curves = {}
    for key in keys:
        curves[key] = {}
        for activation in activations:
            rows = [r for r in mine if r["activation"] == activation]
            if not rows:
                continue
            by_trial = defaultdict(list)
            for r in rows:
                by_trial[r["trial"]].append(r)
            points = []
            for value in dict.fromkeys(r[key] for r in rows):
                finite = [[r["validation_accuracy"] for r in seeds] for seeds in by_trial.values()
                          if seeds[0][key] == value and all(r["diverged_at_step"] is None for r in seeds)]
                if not finite:
                    points.append((value, None, None, None))
                    continue
                best = max(finite, key=lambda accuracies: float(np.mean(accuracies)))
                points.append((value, float(np.mean(best)), float(min(best)), float(max(best))))
            curves[key][activation] = points
    return curves


def final_run_files(inputs, trials, selections, seeds=None):
    """(metrics, training_stats) paths of the runs compared: the given runs, and with a sweep the selected trial
    of each activation at each of ``seeds`` (None: every seed) it was trained on (when every trial of an
    activation diverged, the first stands in, as the workflow trains it). ``trials``: ``reached_trials``;
    ``selections``: read from ``inputs.selections``."""
    if not selections:
        return list(inputs.metrics), list(inputs.training_stats)
    chosen = {tuple(s[k] for k in SELECTION_KEYS): s["trial"] or s["ranked"][0][0] for s in selections}
    stats_of = {Path(p).parent: p for p in [*inputs.trial_stats, *inputs.extended_trial_stats]}
    metrics, training_stats = list(inputs.metrics), list(inputs.training_stats)
    for path, run in trials.items():
        selected = run.get("trial") == chosen.get(tuple(run[k] for k in SELECTION_KEYS))
        if selected and (seeds is None or run["seed"] in seeds):
            if Path(path).parent not in stats_of:
                raise UserError(f"{path}: the trial's training_stats.csv is not among the report's inputs")
            metrics.append(path)
            training_stats.append(stats_of[Path(path).parent])
    return metrics, training_stats


def reached_trials(paths):
    """{path: metrics} of each trial and seed at the last rung it was trained to (``paths``: its metrics JSON at
    every rung it reached, any order)."""
    latest = {}
    for path in paths:
        run = load_json(path)
        key = (*(run[k] for k in SELECTION_KEYS), run.get("trial"), run["seed"])
        steps = run["settings"]["steps"]
        if key not in latest or steps > latest[key][1]["settings"]["steps"]:
            latest[key] = (path, run)
    return dict(latest.values())
