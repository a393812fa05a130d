"""Do two trainings agree? Prediction churn between runs and calibration of one run, from the predictions each run
records (``actviz.evaluation.write_predictions``). Pure numpy/scipy.

- Churn (Bhojanapalli et al. 2021, arXiv 2102.03349; Shamir, Lin & Coviello 2020, arXiv 2010.09931): the share of
  test images two runs predict different classes for. Two runs with accuracies a1 and a2 disagree on at least
  |a1 - a2| of the images (``least_churn``): what lies above it is churn their accuracies do not force.
- The prediction difference Delta_1 (Shamir et al. 2020): the mean over images of the total variation distance
  between the two runs' class probabilities, 1/2 sum_c |p1_c - p2_c|.
- Expected calibration error (Guo et al. 2017, "On calibration of modern neural networks"; Naeini et al. 2015): the
  top label's confidence against its accuracy in 15 equal-width bins, weighted by the images in each.

A mean over seed pairs shares seeds between pairs: its interval resamples seeds (``over_seed_pairs``), never
pairs. Paired tests need independent units: ``disjoint_pairs`` takes seeds two at a time.
"""

import itertools

import numpy as np
from scipy import stats

BINS = 15  # equal-width confidence bins of the calibration error, as Guo et al. (2017) use
LEVEL = 0.95


def churn(predicted_a, predicted_b):
    """The share of images whose predicted class differs between two runs."""
    return float(np.mean(np.asarray(predicted_a) != np.asarray(predicted_b)))


def prediction_difference(probabilities_a, probabilities_b):
    """Delta_1: the mean over images of half the L1 distance between two runs' class probabilities ([image,
    class]), in [0, 1]."""
    a, b = (np.asarray(p, dtype=np.float64) for p in (probabilities_a, probabilities_b))
    return float(np.mean(0.5 * np.abs(a - b).sum(axis=1)))


def least_churn(predicted_a, predicted_b, labels):
    """The churn two runs' accuracies force: |accuracy a - accuracy b| (one cannot be right where the other is
    wrong on fewer images than that)."""
    labels = np.asarray(labels)
    return float(abs(np.mean(np.asarray(predicted_a) == labels) - np.mean(np.asarray(predicted_b) == labels)))


def reliability(probabilities, labels, bins=BINS):
    """The top label's confidence against its accuracy in ``bins`` equal-width bins of (0, 1]: (images, mean
    confidence, accuracy) per bin, NaN where a bin is empty. ``probabilities`` [..., image, class] and ``labels``
    [..., image]: leading axes are runs, each binned on its own (the results gain them in front of the bins)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence, predicted = probabilities.max(axis=-1), probabilities.argmax(axis=-1)
    right = predicted == np.asarray(labels)
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # bin k holds (k/bins, (k+1)/bins]
    lead = confidence.shape[:-1]
    runs = int(np.prod(lead, dtype=int))
    index = (which.reshape(runs, -1) + bins * np.arange(runs)[:, None]).ravel()  # each run's bins of its own

    def per_bin(weights=None):
        counts = np.bincount(index, None if weights is None else np.ravel(weights), runs * bins)
        return counts.reshape(*lead, bins)

    images = per_bin().astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        return images, per_bin(confidence) / images, per_bin(right) / images


def calibration_error(probabilities, labels, bins=BINS):
    """The expected calibration error of the top label: sum over bins of (images in it / all) x |accuracy -
    mean confidence|, in [0, 1]; leading axes as ``reliability``'s (an array of them, else a float)."""
    images, confidence, accuracy = reliability(probabilities, labels, bins)
    gaps = np.where(images > 0, images * np.abs(np.nan_to_num(accuracy) - np.nan_to_num(confidence)), 0.0)
    error = gaps.sum(axis=-1) / images.sum(axis=-1)
    return float(error) if np.ndim(error) == 0 else error


def pair_rows(predictions):
    """Every two runs of one activation ({seed: read_predictions(...)}; diverged runs left out beforehand): churn,
    Delta_1, the least churn their accuracies force and the excess over it, per pair of seeds (a < b)."""
    rows = []
    for a, b in itertools.combinations(sorted(predictions), 2):
        first, second = predictions[a], predictions[b]
        if not np.array_equal(first["labels"], second["labels"]):
            raise ValueError(f"seeds {a} and {b} were evaluated on different test images")
        value = churn(first["predicted"], second["predicted"])
        least = least_churn(first["predicted"], second["predicted"], first["labels"])
        rows.append({"seed_a": a, "seed_b": b, "churn": value, "least_churn": least, "excess_churn": value - least,
                     "prediction_difference": prediction_difference(first["probabilities"], second["probabilities"])})
    return rows


def over_seed_pairs(values, level=LEVEL):
    """The mean of a measure over every pair of seeds ({(seed a, seed b): value}) with an interval that resamples
    seeds: the delete-one-seed jackknife of this U-statistic (Arvesen 1969, "Jackknifing U-statistics", Ann. Math.
    Statist. 40:2076) with a t quantile on seeds - 1 degrees of freedom. Pairs share seeds, so an interval over
    pairs as if independent would be too narrow; a percentile bootstrap over seeds covered 55% (3 seeds) to 87%
    (8) where this covers 94-99% (tests/test_agreement.py). (mean, low, high); low and high NaN with fewer than
    three seeds."""
    seeds = sorted({s for pair in values for s in pair})
    mean = float(np.mean(list(values.values()))) if values else float("nan")
    if len(seeds) < 3:
        return mean, float("nan"), float("nan")
    left_out = np.array([np.mean([v for pair, v in values.items() if seed not in pair]) for seed in seeds])
    n = len(seeds)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt((n - 1) / n * np.sum((left_out - left_out.mean()) ** 2))
    return mean, float(mean - half), float(mean + half)


def disjoint_pairs(seeds):
    """Seeds two at a time in their order ((s0, s1), (s2, s3), ...): pairs that share no seed, so that a measure
    of each is an independent unit of a paired test (an odd last seed waits for the next)."""
    seeds = list(seeds)
    return [(seeds[i], seeds[i + 1]) for i in range(0, len(seeds) - 1, 2)]


def crossed_sources(values, cells):
    """Churn of a crossed seed design split by what two runs share: {"same initialisation": mean over pairs with
    one init seed and two batch orders, "same batch order": the other way round, "neither": both differ}, from
    ``values`` {(run a, run b): value} and ``cells`` {run: (init seed, order seed)}; NaN where no pair is of a
    kind."""
    kinds = {"same initialisation": [], "same batch order": [], "neither": []}
    for (a, b), value in values.items():
        (init_a, order_a), (init_b, order_b) = cells[a], cells[b]
        if init_a == init_b and order_a != order_b:
            kinds["same initialisation"].append(value)
        elif order_a == order_b and init_a != init_b:
            kinds["same batch order"].append(value)
        elif init_a != init_b and order_a != order_b:
            kinds["neither"].append(value)
    return {kind: (float(np.mean(v)) if v else float("nan"), len(v)) for kind, v in kinds.items()}
