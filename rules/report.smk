localrules:
    report,


rule report:
    # Named as actviz.report.render.ReportInputs / ReportOutputs: report.py's options are those names.
    input:
        # With a sweep, the final runs at sweep seeds are the selected trials: the report finds them among
        # the trials by the selections (every trial's first rung is named outright, so that a change of the
        # sweep reruns the report and, through it, the trials and the selections; see first_rung_trials).
        # With max_seeds, the seeds the looks added (as far as each setup's study went) come after the config's,
        # each look's as soon as the look before decided to train it: their extraction then fills the cores a
        # look's last runs leave idle, instead of waiting for the last decision.
        metrics=with_looks(untrained_runs, rules.train.output.metrics),
        training_stats=with_looks(untrained_runs, rules.train.output.stats),
        predictions=with_looks(untrained_runs, rules.train.output.predictions),
        stats=with_looks(run_outputs, rules.extract.output.stats),
        activations=with_looks(run_outputs, rules.extract.output.activations),
        decisions=look_decisions(rules.decide.output.decision),
        # With seed_design crossed, the runs with a batch order of their own (the report splits the spread).
        crossed=crossed_runs(rules.train_crossed.output.metrics),
        crossed_predictions=crossed_runs(rules.train_crossed.output.predictions),
        datasets=expand(rules.convert.output.h5, dataset=config["datasets"]),
        selections=selections(rules.select.output.selection),
        trials=first_rung_trials(rules.train_trial.output.metrics),
        trial_stats=first_rung_trials(rules.train_trial.output.stats),
        extended_trials=extended_trials(rules.train_trial.output.metrics),
        extended_trial_stats=extended_trials(rules.train_trial.output.stats),
    output:
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
        accuracy_csv=report("results/tables/accuracy.csv", caption="../report/accuracy.rst", category="Tables"),
        comparisons_csv=report(
            "results/tables/comparisons.csv", caption="../report/comparisons.rst", category="Tables"
        ),
        per_class_csv=report("results/tables/per_class.csv", caption="../report/per_class.rst", category="Tables"),
        confusion_csv="results/tables/confusion.csv",
        layer_stats_csv=report(
            "results/tables/layer_stats.csv", caption="../report/layer_stats.rst", category="Tables"
        ),
        training_stats_csv=report(
            "results/tables/training_stats.csv", caption="../report/training_stats.rst", category="Tables"
        ),
        curves_csv=report(
            "results/tables/learning_curves.csv", caption="../report/learning_curves.rst", category="Tables"
        ),
        numbers_json="results/tables/report.json",
        trials_csv="results/tables/trials.csv",
        selected_csv="results/tables/selected.csv",
        signal_csv=report("results/tables/signal.csv", caption="../report/signal.rst", category="Tables"),
        spread_csv="results/tables/spread.csv",
        agreement_csv="results/tables/agreement.csv",
        seed_pairs_csv="results/tables/seed_pairs.csv",
        reliability_csv="results/tables/reliability.csv",
        churn_sources_csv="results/tables/churn_sources.csv",
        similarity_layers_csv="results/tables/similarity_layers.csv",
        similarity_pairs_csv="results/tables/similarity_pairs.csv",
        across_csv="results/tables/across.csv",
    params:
        files=lambda wildcards, input, output: named_options(dict(input.items()) | dict(output.items())),
        settings=report_args(config),
        config=config_json(config),
    # The report runs last, alone: it reads the runs' activations and draws its figures on every core.
    threads: workflow.cores
    conda:
        "../envs/report.yaml"
    log:
        "results/joblogs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    shell:
        "python scripts/report.py {params.files} {params.settings} --config-json {params.config:q} --processes {threads} > {log} 2>&1"
