"""The report's numbers layer alone: plain data in and out, no plotting library."""

import subprocess
import sys

import pytest

from actviz.report import numbers


def _runs(accuracies, steps=(0, 10, 20)):
    """Runs as load_runs returns them, metrics only: {(dataset, recipe, activation, seed): accuracy}."""
    return {key: {"metrics": {"test_accuracy": accuracy, "diverged_at_step": None, "final_step": steps[-1],
                              "evaluations": [{"step": s, "test_accuracy": accuracy * s / steps[-1]} for s in steps],
                              "training": [{"step": s, "train_loss": 1.0 + key[3]} for s in steps[1:]]}}
            for key, accuracy in accuracies.items()}


def test_the_numbers_layer_imports_no_plotting_library():
    code = "import sys, actviz.report.numbers, actviz.report.evidence; print(sorted(m for m in sys.modules if " \
           "m.split('.')[0] in ('matplotlib', 'tfplot', 'tensorflow', 'keras', 'jinja2')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_learning_curves_average_the_seeds_on_the_steps_they_share():
    runs = _runs({("d", "snn", "relu", 0): 0.8, ("d", "snn", "relu", 1): 0.6})
    runs["d", "snn", "relu", 1]["metrics"]["evaluations"].pop()  # seed 1 stopped before step 20
    curves = numbers.learning_curves(runs, "d", ["snn"], ["relu"])
    steps, accuracy = curves["test_accuracy"]["snn", "relu"]
    assert steps == [0, 10] and accuracy == pytest.approx([0.0, (0.4 + 0.3) / 2])
    assert curves["train_loss"]["snn", "relu"] == ([10, 20], [1.5, 1.5])


def test_runs_are_grouped_by_the_versions_they_recorded():
    runs = _runs({("d", "snn", "relu", 0): 0.8, ("d", "snn", "selu", 0): 0.8, ("d", "seed", "relu", 0): 0.8})
    runs["d", "snn", "relu", 0]["metrics"]["versions"] = {"tensorflow": "2.21.0"}
    runs["d", "snn", "selu", 0]["metrics"]["versions"] = {"tensorflow": "2.21.0"}
    table = numbers.version_table(runs)
    assert table["packages"] == ["tensorflow"]
    assert table["rows"] == [{"versions": {}, "runs": ["d/seed/relu/seed0"]},
                             {"versions": {"tensorflow": "2.21.0"}, "runs": ["d/snn/relu/seed0", "d/snn/selu/seed0"]}]
