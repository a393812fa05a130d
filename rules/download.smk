localrules:
    download,


rule download:
    output:
        manifest="results/raw/{dataset}/manifest.json",
    params:
        mirrors=mirror_args(config),
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/download/{dataset}.log",
    shell:
        "python scripts/download.py --dataset {wildcards.dataset} --raw-dir results/raw "
        "--no-convert --quiet {params.mirrors} > {log} 2>&1"


rule convert:
    input:
        manifest="results/raw/{dataset}/manifest.json",
    output:
        h5="results/data/{dataset}.h5",
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/convert/{dataset}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "python scripts/convert.py --dataset {wildcards.dataset} "
        "--raw-dir results/raw/{wildcards.dataset} --out {output.h5} > {log} 2>&1"
