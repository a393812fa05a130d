"""What two activations are compared on: the comparison axes, one entry each. The verdict table, comparisons.csv,
report.json, the looks' decisions and the tests iterate over ``AXES``; a new axis is one entry here.

An axis gives each run (or each pair of runs) of an activation one number, says which way is better and within
which margin two activations are equivalent on it, and what it is measured over: seeds (paired by seed, as test
accuracy) or disjoint pairs of seeds (churn: a pair of runs is its unit; pairs that share no seed are independent,
so the paired tests hold). ``accuracy_tables.comparison_rows`` decides every axis with ``actviz.sequential``.
"""

from dataclasses import dataclass
from typing import Callable

from actviz import agreement
from actviz.report.numbers import finite


def _finite_accuracy(runs, setup, activation, seed):
    """A run's test accuracy, None when it diverged or is not there."""
    run = runs.get((*setup, activation, seed))
    if run is None or run["metrics"].get("diverged_at_step") is not None:
        return None
    accuracy = run["metrics"].get("test_accuracy")
    return accuracy if finite(accuracy) else None


def run_predictions(runs, setup, activation, seed):
    """A finished run's predictions (``actviz.evaluation.read_predictions``), None when it diverged, is not there,
    or recorded none."""
    run = runs.get((*setup, activation, seed))
    if run is None or _finite_accuracy(runs, setup, activation, seed) is None:
        return None
    predictions = run.get("predictions")
    return None if predictions is None or predictions.get("diverged") else predictions


def _calibration(runs, setup, activation, seed):
    predictions = run_predictions(runs, setup, activation, seed)
    if predictions is None:
        return None
    if "calibration_error" not in predictions:  # each run's once, though every pair and look asks for it
        predictions["calibration_error"] = agreement.calibration_error(predictions["probabilities"],
                                                                       predictions["labels"])
    return predictions["calibration_error"]


def _churn(runs, setup, activation, pair):
    first, second = (run_predictions(runs, setup, activation, seed) for seed in pair)
    if first is None or second is None:
        return None
    return agreement.churn(first["predicted"], second["predicted"])


@dataclass(frozen=True)
class Axis:
    """One thing activations are compared on."""

    name: str  # its key in comparisons.csv and report.json
    title: str  # its name in the report
    higher_is_better: bool
    margin_setting: str  # the ReportSettings field of its equivalence margin
    words: tuple  # (a better than b, a worse than b): the decision's values in comparisons.csv
    value: Callable  # (runs, setup, activation, unit) -> float, or None where a run diverged or recorded nothing
    by_seed_pair: bool = False  # its unit: a seed, or a pair of seeds of one activation (taken two at a time)
    measure: str = ""  # what "lower" or "higher" is of, in the verdict's words ("lower churn"); none for "ahead"

    def units(self, seeds):
        """The units the seeds (in the looks' order) make: the seeds, or disjoint pairs of them."""
        return agreement.disjoint_pairs(seeds) if self.by_seed_pair else list(seeds)

    def unit_count(self, seeds):
        """The units ``seeds`` many seeds make."""
        return seeds // 2 if self.by_seed_pair else seeds

    def seeds_of(self, units):
        """The seeds of ``units``, in order."""
        return [s for unit in units for s in unit] if self.by_seed_pair else list(units)


ACCURACY = Axis("accuracy", "test accuracy", True, "equivalence_margin", ("ahead", "behind"), _finite_accuracy)
# Churn's margin: 1 point, the accuracy margin's size: two runs whose accuracies differ by d disagree on at least d
# of the images, so a churn difference under the accuracy margin is below what the accuracy verdict calls negligible.
CHURN = Axis("churn", "churn between seeds", False, "churn_margin", ("lower", "higher"), _churn, by_seed_pair=True,
             measure="churn")
# Calibration's margin: 1 point of expected calibration error, above its sampling noise on 2,000 test images at 15
# bins (measured: a run's ECE moves by 0.56-0.73 points between bootstrap draws of its test images, the 6 default
# runs) and below the 2.0-point floor a perfectly calibrated network reads there (binning and sampling).
CALIBRATION = Axis("calibration", "calibration error (ECE)", False, "calibration_margin", ("lower", "higher"),
                   _calibration, measure="ECE")

AXES = {axis.name: axis for axis in (ACCURACY, CHURN, CALIBRATION)}


def measured(runs, setup, axis):
    """Whether any run of ``setup`` has what ``axis`` measures: test accuracy always; churn and calibration need
    recorded predictions (runs from before they were recorded have none)."""
    return axis is ACCURACY or any(run.get("predictions") is not None for key, run in runs.items() if key[:3] == setup)
