"""The report's "Do two trainings agree?" and "Do the layers compute the same thing?" parts of a setup: their numbers
(``agreement_tables``, ``similarity_tables``), the decisions on churn and calibration (``accuracy_tables.
comparison_rows`` over ``axes``) and their figures (``agreement_figures``)."""

from pathlib import Path

from actviz.atomic import write_csv
from actviz.evaluation import read_predictions
from actviz.report import accuracy_tables, agreement_figures, agreement_tables, similarity_tables, verdict_words


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
            "comparisons": _compared([{**c, "words": verdict_words.decision_words(c)} for c in ev.comparisons
                                      if accuracy_tables.setup_of(c) == setup and c["axis"] != "accuracy"]),
            "churn_figure": draw(agreement_figures.churn_accuracy_figure, points) if points else None,
            "reliability_figure": draw(agreement_figures.reliability_figure, diagrams)}


def _compared(rows):
    """The pairs' rows on churn and calibration, none when no pair was compared (one seed: nothing to show)."""
    return rows if any("ci_low" in r for r in rows) else []


def crossed_predictions(paths, metrics, predictions_paths):
    """[(metrics, predictions)] of the crossed cells that recorded predictions (each beside its metrics JSON)."""
    by_folder = {Path(p).parent: m for p, m in zip(paths, metrics)}
    return [(by_folder[Path(p).parent], read_predictions(p)) for p in predictions_paths if Path(p).parent in by_folder]


def similarity_part(ev, setup, activations, layers, draw):
    """"Do the layers compute the same thing?" for one setup (None without two runs to compare): CKA per layer,
    the seed baseline against the cross-activation CKA, the decisions, the maps and the self-tests."""
    if setup not in ev.similarity:
        return None
    part = similarity_tables.similarity_part(ev.runs, setup, activations, layers, ev.similarity[setup])
    if part is None:
        return None
    baselines = {}
    for row in part["layers"]:
        if len(row["seeds"]) > 1:
            series = baselines.setdefault(row["activation"], ([], [], []))
            for values, key in zip(series, ("seed_cka", "seed_cka_low", "seed_cka_high")):
                values.append(row[key])
    pairs = {}
    for row in part["pairs"]:
        series = pairs.setdefault((row["activation_a"], row["activation_b"]), ([], []))
        series[0].append(row["cross_cka"])
        series[1].append(row["decision"] == "different beyond seed noise")
    grid = {}
    for row in part["pairs"]:
        grid.setdefault(f"{row['activation_a']} · {row['activation_b']}", []).append(row)
    return {**part, "layer_names": layers, "grid": grid,
            "figure": draw(agreement_figures.cka_layers_figure, layers, baselines, pairs) if baselines else None,
            "maps_figure": draw(agreement_figures.cka_maps_figure, layers, part["maps"]) if part["maps"] else None}


def write_tables(parts, outputs):
    """The two parts' numbers of every setup (``parts``: the setup sections) as the CSV tables ``outputs`` names
    (``render.ReportOutputs``); returns them for report.json."""
    agreement = [part["agreement"] for part in parts if part["agreement"]]
    similar = [part["similarity"] for part in parts if part["similarity"]]
    numbers = {"agreement": {key: [r for part in agreement for r in part[key]]
                             for key in ("rows", "pairs", "reliability", "crossed")},
               "similarity": {key: [r for part in similar for r in part[key]] for key in ("layers", "pairs")}}
    numbers["similarity"]["maps"] = [
        {**{k: part["layers"][0][k] for k in similarity_tables.SETUP}, "kind": kind, "runs": title,
         "layers": part["layer_names"], "cka": values}
        for part in similar for kind, (title, values) in part["maps"].items()]
    numbers["similarity"]["self_tests"] = [{**{k: part["layers"][0][k] for k in similarity_tables.SETUP},
                                            **part["self_tests"]} for part in similar]
    for path, rows, columns in (
            (outputs.agreement_csv, numbers["agreement"]["rows"], agreement_tables.AGREEMENT_COLUMNS),
            (outputs.seed_pairs_csv, numbers["agreement"]["pairs"], agreement_tables.SEED_PAIR_COLUMNS),
            (outputs.reliability_csv, numbers["agreement"]["reliability"], agreement_tables.RELIABILITY_COLUMNS),
            (outputs.churn_sources_csv, numbers["agreement"]["crossed"], agreement_tables.CROSSED_CHURN_COLUMNS),
            (outputs.similarity_layers_csv, numbers["similarity"]["layers"], similarity_tables.LAYER_COLUMNS),
            (outputs.similarity_pairs_csv, numbers["similarity"]["pairs"], similarity_tables.PAIR_COLUMNS)):
        if path is not None:
            write_csv(path, rows, columns)
    return numbers
