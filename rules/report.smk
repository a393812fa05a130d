localrules:
    report,


rule report:
    input:
        metrics=run_outputs("results/runs/{dataset}/{recipe}/{activation}/seed{seed}/metrics.json"),
        stats=run_outputs("results/activations/{dataset}/{recipe}/{activation}/seed{seed}.stats.json"),
        activations=run_outputs("results/activations/{dataset}/{recipe}/{activation}/seed{seed}.h5"),
        training_stats=run_outputs("results/runs/{dataset}/{recipe}/{activation}/seed{seed}/training_stats.csv"),
        histograms=run_outputs(
            "results/runs/{dataset}/{recipe}/{activation}/seed{seed}/training_histograms.csv"
        ),
        datasets=expand("results/data/{dataset}.h5", dataset=config["datasets"]),
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
        "--training-histograms {input.histograms} --datasets {input.datasets} "
        "--config-json {params.config:q} --out {output.html} --tables-dir results/tables > {log} 2>&1"
