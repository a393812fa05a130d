# Compare activation functions: download -> HDF5 -> train -> extract activations -> report.
# Run: snakemake --cores all report    (see README.md)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


validate_config(config, "schemas/config.schema.yaml")


include: "rules/download.smk"
include: "rules/train.smk"
include: "rules/sweep.smk"
include: "rules/looks.smk"
include: "rules/extract.smk"
include: "rules/report.smk"


# Every output of the report, not only the HTML: a table added by a later version (signal.csv) is then
# missing, and the report reruns (Snakemake only checks the outputs something depends on).
rule all:
    default_target: True
    input:
        rules.report.output,


# The terminal ends with the answer: the report and its verdicts, or the failed job and why.
onsuccess:
    print("\n".join(after_success(rules.report.output.html, rules.report.output.numbers_json, STARTED)))


onerror:
    print("\n".join(after_failure(log)), file=sys.stderr)
