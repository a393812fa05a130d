# Checkpoints and TensorBoard logs live outside the declared outputs, so that Snakemake's deletion
# of a rerun job's outputs never removes what a killed or extended run resumes from.
rule train:
    input:
        h5=rules.convert.output.h5,
        selection=selection_file,  # with a sweep: the settings the trials selected
    output:
        metrics=f"results/runs/{RUN}/metrics.json",
        stats=report(
            f"results/runs/{RUN}/training_stats.csv",
            caption="../report/run_stats.rst",
            category="Runs",
            subcategory="{dataset} / {architecture} / {recipe}",
            labels={"activation": "{activation}", "seed": "{seed}"},
        ),
        histograms=f"results/runs/{RUN}/training_histograms.csv",
        # Every test image's predicted class and probabilities: churn between seeds, calibration.
        predictions=f"results/runs/{RUN}/predictions.h5",
    params:
        # The config's settings; with a sweep, those its activation's trials selected.
        settings=final_args,
        flags=lambda wildcards, output: f"--predictions {output.predictions}",
        checkpoints=f"results/checkpoints/{RUN}",
        tensorboard=f"results/logs/{RUN}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        f"results/joblogs/train/{RUN}.log",
    benchmark:
        f"results/benchmarks/train/{RUN}.tsv"
    # One thread a job (Snakemake sets OMP_NUM_THREADS & co. to it; train.py gives TensorFlow the
    # same): with --cores 2, three default jobs took 62 s two at a time against 70 s one after
    # another with 2 threads each (bench/parallel_benchmark.py). More a job: --set-threads train=N.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        # SLURM: --gpus (TensorFlow then trains on what it sees; the job log names the devices).
        gpu=config["gpus"],
    # Before extraction: a look's decision waits for its last train job, extraction only feeds the report, so
    # extract jobs fill the cores a look's last jobs leave idle.
    priority: 1
    shell:
        TRAIN_SHELL


# seed_design crossed: a run's weights and dropout from its seed, its batch order from another seed (a cell off the
# crossed table's diagonal). Read by the report's split of the spread alone: no activations are extracted.
rule train_crossed:
    input:
        h5=rules.convert.output.h5,
        selection=selection_file,
    output:
        metrics=f"results/runs/{CROSSED_RUN}/metrics.json",
        stats=f"results/runs/{CROSSED_RUN}/training_stats.csv",
        histograms=f"results/runs/{CROSSED_RUN}/training_histograms.csv",
        predictions=f"results/runs/{CROSSED_RUN}/predictions.h5",
    params:
        settings=final_args,
        flags=lambda wildcards, output: f"--order-seed {wildcards.order} --predictions {output.predictions}",
        checkpoints=f"results/checkpoints/{CROSSED_RUN}",
        tensorboard=f"results/logs/{CROSSED_RUN}",
    conda:
        "../envs/tensorflow.yaml"
    log:
        f"results/joblogs/train_crossed/{CROSSED_RUN}.log",
    benchmark:
        f"results/benchmarks/train_crossed/{CROSSED_RUN}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=config["gpus"],
    shell:
        TRAIN_SHELL
