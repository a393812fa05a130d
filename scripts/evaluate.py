#!/usr/bin/env python3
"""Evaluate a run's newest checkpoint on a split of any converted dataset (the old project's evaler.py).

Prints the accuracy, the loss and every class's accuracy; --out writes them as JSON with the
confusion matrix and each image's result, --predictions every image's class probabilities (HDF5). The dataset must have the image shape and the number of
classes the run was trained on; the run's own input standardisation is used.

    python scripts/evaluate.py --checkpoint-dir results/checkpoints/FashionMNIST-sample/snn/selu/seed0 \\
        --dataset results/data/FashionMNIST.h5 --split test --out selu-on-full-test.json
"""

import argparse

from actviz.atomic import write_json
from actviz.errors import run_cli
from actviz.evaluation import evaluate_checkpoint
from actviz.runs import run_name
from actviz.tensorflow_start import start_tensorflow


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", required=True, help="the run's checkpoint folder (with its run.json)")
    parser.add_argument("--dataset", required=True, help="a converted dataset's HDF5 file")
    parser.add_argument("--split", default="test", choices=["test", "validation", "train"],
                        help="test; validation: the train images the run held out; train: the whole train split, "
                             "held-out images included (default: %(default)s)")
    parser.add_argument("--out", help="JSON file to write the evaluation to")
    parser.add_argument("--predictions", help="HDF5 file to write every image's predicted class and class "
                                              "probabilities to (as a run's predictions.h5)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start_tensorflow()  # before any other import of it: its start-up noise kept out of the log
    result = evaluate_checkpoint(args.checkpoint_dir, args.dataset, args.split, threads=args.threads or None,
                                 predictions_path=args.predictions)
    run = result["run"]
    print(f"{run_name(**run)} at step {result['step']} on "
          f"{result['dataset']} {result['split']} ({result['images']} images): accuracy {result['accuracy']:.4f}, "
          f"loss {result['loss']:.4f}")
    width = max(len(name) for name in result["classes"])
    for name, accuracy in zip(result["classes"], result["per_class_accuracy"]):
        print(f"  {name:<{width}}  {'-' if accuracy is None else f'{accuracy:.4f}'}")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    run_cli(main)
