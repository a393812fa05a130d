localrules:
    report,


rule report:
    input:
        metrics=run_outputs(rules.train.output.metrics),
        training_stats=run_outputs(rules.train.output.stats),
        histograms=run_outputs(rules.train.output.histograms),
        stats=run_outputs(rules.extract.output.stats),
        activations=run_outputs(rules.extract.output.activations),
        datasets=expand(rules.convert.output.h5, dataset=config["datasets"]),
    output:
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
        accuracy=report("results/tables/accuracy.csv", caption="../report/accuracy.rst", category="Tables"),
        layer_stats=report(
            "results/tables/layer_stats.csv", caption="../report/layer_stats.rst", category="Tables"
        ),
        training_stats=report(
            "results/tables/training_stats.csv", caption="../report/training_stats.rst", category="Tables"
        ),
        curves=report(
            "results/tables/learning_curves.csv", caption="../report/learning_curves.rst", category="Tables"
        ),
        numbers="results/tables/report.json",
    params:
        config=config_json(config),
    conda:
        "../envs/report.yaml"
    log:
        "results/joblogs/report.log",
    shell:
        "python scripts/report.py --metrics {input.metrics} --stats {input.stats} "
        "--activations {input.activations} --training-stats {input.training_stats} "
        "--training-histograms {input.histograms} --datasets {input.datasets} --config-json {params.config:q} "
        "--html {output.html} --accuracy-csv {output.accuracy} --layer-stats-csv {output.layer_stats} "
        "--training-stats-csv {output.training_stats} --curves-csv {output.curves} "
        "--numbers-json {output.numbers} > {log} 2>&1"
