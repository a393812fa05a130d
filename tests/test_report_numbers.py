"""The report's numbers layer alone: plain data in and out, no plotting library."""

import subprocess
import sys

import pytest

from actviz.report import numbers


def _runs(accuracies, steps=(0, 10, 20)):
    """Runs as load_runs returns them, metrics only: {(dataset, architecture, recipe, activation, seed): accuracy}."""
    return {key: {"metrics": {"test_accuracy": accuracy, "diverged_at_step": None, "final_step": steps[-1],
                              "evaluations": [{"step": s, "validation_accuracy": accuracy * s / steps[-1]}
                                              for s in steps],
                              "training": [{"step": s, "train_loss": 1.0 + key[-1]} for s in steps[1:]]}}
            for key, accuracy in accuracies.items()}


def test_the_numbers_layer_imports_no_plotting_library():
    code = "import sys, actviz.report.numbers, actviz.report.layer_tables, actviz.report.sweep_tables, " \
           "actviz.report.signal_tables, actviz.report.accuracy_tables, actviz.report.verdict_words, " \
           "actviz.report.layer_words, actviz.report.spread, actviz.report.across_tables; " \
           "print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('matplotlib', 'tfplot', 'tensorflow', 'keras', 'jinja2')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_learning_curves_average_the_seeds_on_the_steps_they_share():
    runs = _runs({("d", "cnn", "snn", "relu", 0): 0.8, ("d", "cnn", "snn", "relu", 1): 0.6})
    runs["d", "cnn", "snn", "relu", 1]["metrics"]["evaluations"].pop()  # seed 1 stopped before step 20
    curves = numbers.learning_curves(runs, [("d", "cnn", "snn")], ["relu"])
    steps, accuracy = curves["validation_accuracy"]["cnn/snn", "relu"]
    assert steps == [0, 10] and accuracy == pytest.approx([0.0, (0.4 + 0.3) / 2])
    assert curves["train_loss"]["cnn/snn", "relu"] == ([10, 20], [1.5, 1.5])


def test_runs_are_grouped_by_the_versions_they_recorded():
    runs = _runs({("d", "cnn", "snn", "relu", 0): 0.8, ("d", "cnn", "snn", "selu", 0): 0.8,
                  ("d", "cnn", "seed", "relu", 0): 0.8})
    runs["d", "cnn", "snn", "relu", 0]["metrics"]["versions"] = {"tensorflow": "2.21.0"}
    runs["d", "cnn", "snn", "selu", 0]["metrics"]["versions"] = {"tensorflow": "2.21.0"}
    table = numbers.version_table(runs)
    assert table["packages"] == ["tensorflow"]
    assert table["rows"] == [{"versions": {}, "runs": ["d/cnn/seed/relu/seed0"]},
                             {"versions": {"tensorflow": "2.21.0"}, "runs": ["d/cnn/snn/relu/seed0",
                                                                                     "d/cnn/snn/selu/seed0"]}]
