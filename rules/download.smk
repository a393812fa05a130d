localrules:
    download,


rule download:
    output:
        manifest="results/raw/{dataset}/manifest.json",
    params:
        raw_dir=lambda wildcards, output: os.path.dirname(output.manifest),
        mirrors=mirror_args(config),
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/download/{dataset}.log",
    shell:
        "python scripts/download.py --dataset {wildcards.dataset} --raw-dir {params.raw_dir} "
        "--manifest {output.manifest} --quiet {params.mirrors} > {log} 2>&1"


rule convert:
    input:
        convert_inputs,
    output:
        h5="results/data/{dataset}.h5",
    params:
        source=convert_source,
        test_fraction=config["test_fraction"],
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/convert/{dataset}.log",
    benchmark:
        "results/benchmarks/convert/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "python scripts/convert.py --dataset {wildcards.dataset} --source {params.source:q} "
        "--out {output.h5} --test-fraction {params.test_fraction} > {log} 2>&1"
