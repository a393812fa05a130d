# Checkpoints live outside the declared outputs, so that Snakemake's deletion of a rerun job's
# outputs never removes what a killed or extended run resumes from.
rule train:
    input:
        h5="results/data/{dataset}.h5",
    output:
        metrics="results/runs/{dataset}/{recipe}/{activation}/seed{seed}/metrics.json",
        stats=report(
            "results/runs/{dataset}/{recipe}/{activation}/seed{seed}/training_stats.csv",
            caption="../report/run_stats.rst",
            category="Runs",
            subcategory="{dataset} / {recipe}",
            labels={"activation": "{activation}", "seed": "{seed}"},
        ),
        histograms="results/runs/{dataset}/{recipe}/{activation}/seed{seed}/training_histograms.csv",
    params:
        settings=train_args(config),
        checkpoints="results/checkpoints/{dataset}/{recipe}/{activation}/seed{seed}",
        tensorboard="results/logs/{dataset}/{recipe}/{activation}/seed{seed}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        "results/joblogs/train/{dataset}/{recipe}/{activation}/seed{seed}.log",
    # One thread a job: on 2 cores two single-thread runs finish 2x sooner than two 2-thread runs
    # one after the other (start-up and summaries are single-threaded).
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "python scripts/train.py --dataset {input.h5} --recipe {wildcards.recipe} "
        "--activation {wildcards.activation} --seed {wildcards.seed} {params.settings} "
        "--threads {threads} --checkpoint-dir {params.checkpoints} --log-dir {params.tensorboard} "
        "--metrics {output.metrics} --stats {output.stats} --histograms {output.histograms} > {log} 2>&1"
