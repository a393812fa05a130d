"""One look of a "seeds until decided" study: the decision file the workflow's ``decide`` checkpoint writes after
a setup's runs at a look's seeds. It decides exactly as the report does (``accuracy_tables.comparison_rows`` over
the looks the seeds reach), and says which seeds the next look trains, if any."""

from pathlib import Path

from actviz.errors import UserError, load_json
from actviz.evaluation import read_predictions
from actviz.report import accuracy_tables, axes


def decide_look(metrics_paths, look, design, previous=None, predictions_paths=()):
    """The decision at look ``look`` (0-based) of one setup: ``metrics_paths`` its runs at the look's seeds (every
    activation), with their ``predictions_paths`` (each beside its metrics.json), ``design`` an
    ``accuracy_tables.Design`` (its ``planned``: the seeds of every look; ``decide_on``: the axes every pair must be
    decided on before the study stops); ``previous``: the look before's decision, which may have stopped the study
    already (then this one repeats it, with no runs read)."""
    if previous is not None and previous["stopped"]:
        return {**previous, "look": look}
    runs, folders = {}, {}
    for path in metrics_paths:
        metrics = load_json(path)
        key = (metrics["dataset"], metrics["architecture"], metrics["recipe"], metrics["activation"], metrics["seed"])
        runs[key], folders[Path(path).parent] = {"metrics": metrics}, key
    for path in predictions_paths:
        if Path(path).parent not in folders:
            raise UserError(f"{path}: predictions of a run not among --metrics")
        runs[folders[Path(path).parent]]["predictions"] = read_predictions(path)
    setups = {key[:3] for key in runs}
    if len(setups) != 1:
        raise UserError(f"a decision is about one setup; the runs given are of {len(setups)}")
    planned = design.planned
    setup, seeds = setups.pop(), list(planned[look])
    activations = list(dict.fromkeys(key[3] for key in runs))
    accuracy = accuracy_tables.accuracy_rows(runs, [setup], activations)
    pairs = [p for name in design.decide_on
             for p in accuracy_tables.comparison_rows(runs, accuracy, setup, design, axes.AXES[name])]
    undecided = [p for p in pairs
                 if p.get("evidence") == accuracy_tables.ACTIVATIONS and p["decision"] not in accuracy_tables.DECIDED]
    last = look == len(planned) - 1
    return {"setup": dict(zip(accuracy_tables.SETUP, setup)), "look": look, "looks": len(planned), "seeds": seeds,
            "decided_at_look": None if undecided else look, "stopped": not undecided or last,
            "next_seeds": [] if not undecided or last else list(planned[look + 1]),
            "margin": design.margin, "max_seeds": design.max_seeds, "decide_on": list(design.decide_on),
            "pairs": [{key: p.get(key) for key in accuracy_tables.COMPARISON_COLUMNS} for p in pairs]}
