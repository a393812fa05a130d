#!/usr/bin/env python3
"""Re-create a run from its record and say whether it came out bit-identical: reads the run's metrics.json
(settings, results, package versions, CPU) and the run.json beside its checkpoints (the dataset's checksums),
verifies the dataset file, retrains the run in a scratch folder, and compares the accuracy, the loss and learning
curves, every evaluation and the layer statistics over training. If they differ, it names what differs between
the two records that could explain it: CPU kind, package versions, settings.

    python scripts/rerun.py results/runs/FashionMNIST-sample/cnn/snn/relu/seed0
    make rerun RUN=results/runs/FashionMNIST-sample/cnn/snn/relu/seed0

Exit status 0 when identical, 1 when not, 2 on a mistake (a missing record, a changed dataset).
"""

import argparse
import os
import sys
import tempfile


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder, with its metrics.json")
    parser.add_argument("--dataset", help="the dataset's HDF5 file (default: results/data/NAME.h5 beside the run's "
                                          "results/)")
    parser.add_argument("--scratch", help="where to retrain (default: a temporary folder, removed after)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for TensorFlow (default: %(default)s, as the workflow's train jobs)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # As a workflow job of --threads threads (Snakemake sets these): numpy's BLAS threads change the last digits
    # of the layer statistics. Before numpy is imported.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    from actviz.rerun import rerun
    from actviz.tensorflow_start import start_tensorflow

    start_tensorflow()
    with tempfile.TemporaryDirectory(prefix="rerun-") as temporary:
        # the training's own lines to stderr: stdout is the answer
        result = rerun(args.run_dir, args.scratch or temporary, args.dataset, args.threads,
                       progress=sys.stderr.isatty(), log=lambda line: print(line, file=sys.stderr))
    new = result["metrics"]
    if result["identical"]:
        print(f"identical: {new['run']} came out bit for bit the same (test accuracy {new['test_accuracy']}, "
              f"loss curve, every evaluation and layer statistic)")
    else:
        print(f"not identical: {new['run']} differs in {', '.join(result['differs'])}")
    if result["conditions"]:
        print("the records differ in: " + "; ".join(result["conditions"]))
    elif not result["identical"]:
        print("the records name no difference in CPU kind, versions or settings")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    from actviz.errors import run_cli  # numpy-free: the thread variables are set before numpy loads

    sys.exit(run_cli(main))
