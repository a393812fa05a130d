rule extract:
    input:
        h5="results/data/{dataset}.h5",
        metrics="results/runs/{dataset}/{recipe}/{activation}/seed{seed}/metrics.json",
    output:
        activations="results/activations/{dataset}/{recipe}/{activation}/seed{seed}.h5",
        stats="results/activations/{dataset}/{recipe}/{activation}/seed{seed}.stats.json",
        stats_csv="results/activations/{dataset}/{recipe}/{activation}/seed{seed}.stats.csv",
    params:
        settings=extract_args(config),
        checkpoints="results/checkpoints/{dataset}/{recipe}/{activation}/seed{seed}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        "results/joblogs/extract/{dataset}/{recipe}/{activation}/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "python scripts/extract_activations.py --dataset {input.h5} "
        "--checkpoint-dir {params.checkpoints} --out {output.activations} "
        "--stats {output.stats} --stats-csv {output.stats_csv} {params.settings} "
        "--threads {threads} > {log} 2>&1"
