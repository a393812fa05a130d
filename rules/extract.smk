rule extract:
    input:
        h5=rules.convert.output.h5,
        metrics=rules.train.output.metrics,
    output:
        activations=f"results/activations/{RUN}.h5",
        stats=f"results/activations/{RUN}.stats.json",
        stats_csv=f"results/activations/{RUN}.stats.csv",
    params:
        settings=extract_args(config),
        checkpoints=rules.train.params.checkpoints,
    conda:
        "../envs/tensorflow.yaml"
    log:
        f"results/joblogs/extract/{RUN}.log",
    benchmark:
        f"results/benchmarks/extract/{RUN}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "python scripts/extract_activations.py --dataset {input.h5} "
        "--checkpoint-dir {params.checkpoints} --out {output.activations} "
        "--stats {output.stats} --stats-csv {output.stats_csv} {params.settings} "
        "--threads {threads} > {log} 2>&1"
