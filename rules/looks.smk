# Seeds until decided (config max_seeds): after each look's seeds, a decision per setup (a checkpoint: whether
# the next look's seeds train depends on it). A look whose decision leaves a pair of activations undecided
# trains the next look's seeds; once every pair is decided, or at the last look, the study stops and later
# looks repeat its decision without training. Without max_seeds no rule here is used.
localrules:
    decide,


checkpoint decide:
    input:
        # every activation's final run (or the selected trial it is) at the look's seeds
        metrics=look_runs(final_run(rules.train.output.metrics, rules.train_trial.output.metrics)),
        predictions=look_runs(run_predictions(rules.train.output.predictions)),
        previous=decision_before,
    output:
        decision=DECISION,
    params:
        previous=decision_options,
        planned=json.dumps(LOOKS),
        settings=command_line(DecideSettings, config),
    conda:
        "../envs/data.yaml"
    log:
        "results/joblogs/decide/{dataset}/{architecture}/{recipe}/look{look}.log",
    shell:
        "python scripts/decide.py --look {wildcards.look} --planned-json {params.planned:q} "
        "{params.settings} {params.previous} "
        "--metrics {input.metrics} --predictions {input.predictions} --out {output.decision} > {log} 2>&1"
