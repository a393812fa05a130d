localrules:
    report,


rule report:
    input:
        metrics=run_outputs("results/runs/{dataset}/{activation}/seed{seed}/metrics.json"),
        stats=run_outputs("results/activations/{dataset}/{activation}/seed{seed}.stats.json"),
        activations=run_outputs("results/activations/{dataset}/{activation}/seed{seed}.h5"),
        datasets=expand("results/data/{dataset}.h5", dataset=config["datasets"]),
    output:
        html="results/report.html",
        accuracy="results/tables/accuracy.csv",
        layer_stats="results/tables/layer_stats.csv",
        numbers="results/tables/report.json",
    params:
        config=config_json(config),
    conda:
        "../envs/report.yaml"
    log:
        "results/joblogs/report.log",
    shell:
        "python scripts/report.py --metrics {input.metrics} --stats {input.stats} "
        "--activations {input.activations} --datasets {input.datasets} "
        "--config-json {params.config:q} --out {output.html} --tables-dir results/tables > {log} 2>&1"
