# Sweeps (config `sweep`): every trial trained on sweep_seeds, then per activation a selection on the
# validation split (a checkpoint: what the final runs train depends on it). With sweep_rungs (successive
# halving) every rung is a checkpoint: its better half of trials is extended to the next rung, from the
# checkpoints of the rung before, and the last rung selects. Without a sweep no rule here is used.
localrules:
    select,


rule train_trial:
    input:
        h5=rules.convert.output.h5,
        # the same trial at the rung before: this rung extends its checkpoints
        previous=trial_before(f"results/trials/{TRIAL_RUNG}/metrics.json"),
    output:
        metrics=f"results/trials/{TRIAL_RUNG}/metrics.json",
        stats=f"results/trials/{TRIAL_RUNG}/training_stats.csv",
        histograms=f"results/trials/{TRIAL_RUNG}/training_histograms.csv",
    params:
        settings=trial_args,
        # a rung before the last is extended by the next: it evaluates no test split
        flags=trial_flags,
        checkpoints=f"results/checkpoints/trials/{TRIAL}",
        tensorboard=f"results/logs/trials/{TRIAL}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        f"results/joblogs/train_trial/{TRIAL_RUNG}.log",
    benchmark:
        f"results/benchmarks/train_trial/{TRIAL_RUNG}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=config["gpus"],
    # A rung's selection waits for its last trial (see the train rule).
    priority: 1
    shell:
        TRAIN_SHELL


checkpoint select:
    input:
        metrics=trials_of(rules.train_trial.output.metrics),
        previous=selection_before,
    output:
        selection="results/selection/{dataset}/{architecture}/{recipe}/{activation}/steps{rung}.json",
    params:
        trials=trial_options,
        sweep=json.dumps(config["sweep"]),
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/select/{dataset}/{architecture}/{recipe}/{activation}/steps{rung}.log",
    shell:
        "python scripts/select_trial.py --sweep-json {params.sweep:q} {params.trials} --out {output.selection} > {log} 2>&1"
