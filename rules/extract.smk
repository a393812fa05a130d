rule extract:
    input:
        h5=rules.convert.output.h5,
        # The final run's training, or the trial it is (a sweep's selected setting at a sweep seed).
        metrics=final_run(rules.train.output.metrics, rules.train_trial.output.metrics),
        selection=selection_file,
    output:
        activations=f"results/activations/{RUN}.h5",
        stats=f"results/activations/{RUN}.stats.json",
        stats_csv=f"results/activations/{RUN}.stats.csv",
    params:
        settings=extract_args(config),
        checkpoints=final_run(rules.train.params.checkpoints, rules.train_trial.params.checkpoints),
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
