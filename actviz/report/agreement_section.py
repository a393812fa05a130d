"""The report's "Do two trainings agree?" part of a setup: its numbers (``agreement_tables``), its decisions on
churn and calibration (``accuracy_tables.comparison_rows`` over ``axes``) and its figures (``agreement_figures``)."""

from pathlib import Path

from actviz.evaluation import read_predictions
from actviz.report import accuracy_tables, agreement_figures, agreement_tables, verdict_words


def agreement_part(ev, setup, activations, draw):
    """"Do two trainings agree?" for one setup (None without recorded predictions): churn and calibration per
    activation, the pairs decided on them, each seed pair, the reliability diagrams and their figures."""
    pairs = agreement_tables.seed_pair_rows(ev.runs, setup, activations)
    rows = agreement_tables.agreement_rows(ev.runs, setup, activations, pairs)
    if not rows:
        return None
    reliability = agreement_tables.reliability_rows(ev.runs, setup, activations)
    accuracy = {r["activation"]: r for r in ev.accuracy if accuracy_tables.setup_of(r) == setup}
    points = [{**r, **{key: accuracy[r["activation"]][name] for key, name in (
        ("accuracy", "test_accuracy_mean"), ("accuracy_low", "ci_low"), ("accuracy_high", "ci_high"))}}
        for r in rows if r["seed_pairs"]]
    diagrams = {}
    for r in rows:
        bins = [b for b in reliability if b["activation"] == r["activation"]]
        diagrams[r["activation"]] = ([0.0, *(b["bin_high"] for b in bins)], *([b[k] for b in bins] for k in (
            "images", "confidence", "accuracy")), r["calibration_error"])
    return {"rows": rows, "pairs": pairs, "reliability": reliability,
            "crossed": agreement_tables.crossed_churn_rows(ev.runs, ev.crossed_predictions, setup, activations),
            "comparisons": [{**c, "words": verdict_words.decision_words(c)} for c in ev.comparisons
                            if accuracy_tables.setup_of(c) == setup and c["axis"] != "accuracy"],
            "churn_figure": draw(agreement_figures.churn_accuracy_figure, points) if points else None,
            "reliability_figure": draw(agreement_figures.reliability_figure, diagrams)}


def crossed_predictions(paths, metrics, predictions_paths):
    """[(metrics, predictions)] of the crossed cells that recorded predictions (each beside its metrics JSON)."""
    by_folder = {Path(p).parent: m for p, m in zip(paths, metrics)}
    return [(by_folder[Path(p).parent], read_predictions(p)) for p in predictions_paths if Path(p).parent in by_folder]
