# Checkpoints live outside the declared outputs, so that Snakemake's deletion of a rerun job's
# outputs never removes what a killed or extended run resumes from.
rule train:
    input:
        h5="results/data/{dataset}.h5",
    output:
        metrics="results/runs/{dataset}/{activation}/seed{seed}/metrics.json",
    params:
        settings=train_args(config),
        checkpoints="results/checkpoints/{dataset}/{activation}/seed{seed}",
        tensorboard="results/logs/{dataset}/{activation}/seed{seed}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        "results/joblogs/train/{dataset}/{activation}/seed{seed}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "python scripts/train.py --dataset {input.h5} --activation {wildcards.activation} "
        "--seed {wildcards.seed} {params.settings} --threads {threads} "
        "--checkpoint-dir {params.checkpoints} --log-dir {params.tensorboard} "
        "--metrics {output.metrics} > {log} 2>&1"
