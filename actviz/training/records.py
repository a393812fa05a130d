"""What a run writes when it ends: metrics.json (``final_metrics``) and its layer statistics and histograms over
training as tidy CSVs (``write_layer_tables``)."""

from actviz.atomic import write_csv
from actviz.runs import machine, package_versions
from actviz.stats import GRADIENT_COLUMNS, MOMENT_COLUMNS, SIGNAL_COLUMNS, SIGNAL_PREDICTION_COLUMNS, STAT_COLUMNS


def write_layer_tables(run, records, stats_path, histograms_path):
    """The layer statistics and histograms over training as tidy CSVs (one row per step and layer / bin)."""
    settings = run.settings
    ident = {"dataset": run.info["name"], "architecture": settings.architecture, "recipe": settings.recipe,
             "activation": run.activation, "seed": settings.seed}
    moments = {(r["step"], r["layer"]): r for r in records["moments"]}
    columns = (*STAT_COLUMNS, *GRADIENT_COLUMNS, *MOMENT_COLUMNS, *SIGNAL_COLUMNS, *SIGNAL_PREDICTION_COLUMNS)
    write_csv(stats_path, [{**ident, "step": r["step"], "layer": r["layer"],
                            **{k: {**r, **moments.get((r["step"], r["layer"]), {})}.get(k) for k in columns}}
                           for r in records["layer_stats"]], (*ident, "step", "layer", *columns))
    write_csv(histograms_path, [{**ident, "step": r["step"], "layer": r["layer"], "bin_low": r["edges"][i],
                                 "bin_high": r["edges"][i + 1], "count": count}
                                for r in records["histograms"] for i, count in enumerate(r["counts"])],
              (*ident, "step", "layer", "bin_low", "bin_high", "count"))


def final_metrics(run, store, final_step, diverged_at, evaluation, elapsed, clock):
    """The run's metrics.json: identity, final test and train numbers (with each test image's result
    and the confusion matrix), curves, timings, versions."""
    records, settings = store.progress.records, run.settings
    last_training = records["training"][-1] if records["training"] else {}
    final = records["evaluations"][-1] if diverged_at is None else {}
    trained = final_step - store.start_step
    return {
        "dataset": run.info["name"],
        "architecture": settings.architecture,
        "recipe": settings.recipe,
        "activation": run.activation,
        "seed": settings.seed,
        "run": run.name,
        "trial": run.trial,  # the sweep's trial this run is, or None
        "settings": settings.as_dict(),
        "final_step": final_step,
        "diverged_at_step": diverged_at,  # None unless the loss became NaN or infinite
        "resumed_from_step": store.start_step,
        "train_loss": last_training.get("train_loss"),  # mean over the last log_every steps
        "train_accuracy": last_training.get("train_accuracy"),
        # Where settings are chosen: the held-out train images at the last step.
        "validation_loss": final.get("validation_loss"),
        "validation_accuracy": final.get("validation_accuracy"),
        "validation_size": len(run.validation_labels),
        "validation_correct": final.get("validation_correct"),  # each validation image's result, packed bits
        # What is compared: the test split, evaluated once, at the end.
        "test_loss": None if evaluation is None else evaluation.loss,
        "test_accuracy": None if evaluation is None else evaluation.accuracy,
        "test_size": len(run.test_images),
        "validation": run.validation,  # which train images were held out, with checksums
        # The last evaluation image by image (None for a diverged run): per-class results, paired tests.
        "final_evaluation": None if evaluation is None else {
            "split": "test", "step": final_step, **evaluation.summary(run.info["num_classes"])},
        "evaluations": records["evaluations"],
        "training": records["training"],
        "checkpoint": store.manager.latest_checkpoint,
        # The training loop's wall time, every summary included (setup and the step-0 state are not).
        "train_seconds": elapsed,
        "images_per_second": trained * settings.batch_size / elapsed if trained else None,
        "seconds": {phase: round(seconds, 3) for phase, seconds in clock.seconds.items()},
        "versions": package_versions(),  # of the process that finished the run
        "machine": machine(),  # and its CPU: numbers are bit-identical only on the same kind
        "initialisation": run.initialisation,  # per layer, the sigma_w2 and sigma_b2 its initialisers imply
    }
