"""Per-layer statistics of activations: accumulated batch by batch, or of one probe batch."""

import numpy as np

PERCENTILES = (1, 5, 50, 95, 99)
# The statistics recorded of every layer over training (training_stats.csv, TensorBoard stats/LAYER/...).
STAT_COLUMNS = ("mean", "std", *(f"p{q}" for q in PERCENTILES), "zero_fraction", "dead_fraction",
                "negative_fraction", "saturated_fraction")
# Beside them (TensorBoard grads/LAYER/...): the std of the loss gradient with respect to the layer's output,
# the L2 norm of its kernel's gradient, and the kernel's change since the last statistics relative to it.
GRADIENT_COLUMNS = ("grad_output_std", "grad_kernel_norm", "update_ratio")
# And the moment map's predictions (actviz.moments): from the measured layer below, and along the path.
MOMENT_COLUMNS = ("predicted_mean", "predicted_std", "path_mean", "path_std")
# How signals travel through depth (TensorBoard signal/LAYER/...): of the layer's pre-activations on the probe batch,
# the mean squared value (q) and the mean correlation between two images (corr), and the mean squared singular
# value of the Jacobian from the network's input to them (jacobian); and as mean-field theory predicts them
# (actviz.signal): from the measured layer below, and along the path from the input.
SIGNAL_COLUMNS = ("q", "corr", "jacobian")
# sigma_w2, sigma_b2: the layer's weight variances the theory reads (fan-in x mean squared weight; mean squared bias).
SIGNAL_PREDICTION_COLUMNS = ("sigma_w2", "sigma_b2", "predicted_q", "predicted_corr", "predicted_jacobian", "path_q",
                             "path_corr", "path_jacobian")


class LayerStatistics:
    """Statistics of every value seen by ``update``; ``values`` batches are [N, ...units].

    Mean and std are merged across batches with Chan's parallel algorithm in float64, so memory
    stays flat. Fractions: of values exactly zero, negative, saturated (below ``saturation[0]`` or
    above ``saturation[1]``; None where the activation has no such bound), and of units that were
    exactly zero for every example and every position (dead units: a unit is the last axis, a conv
    layer's channel or a dense layer's neuron). With a ``value_range`` (fixed before the values are
    seen, e.g. shared by all runs), a histogram of ``bins`` bins over it too.
    """

    def __init__(self, value_range=None, bins=None, saturation=(None, None)):
        self.value_range = None if value_range is None else (float(value_range[0]), float(value_range[1]))
        self.bins, self.saturation = bins, saturation
        self.counts = None if value_range is None else np.zeros(int(bins), dtype=np.int64)
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = np.inf
        self.max = -np.inf
        self.below = self.above = self.zeros = self.negative = self.saturated = 0
        self.alive = None  # per unit (last axis): nonzero for some example at some position

    def update(self, values):
        values = np.asarray(values)
        if values.size == 0:
            return
        alive = (values != 0).reshape(-1, values.shape[-1]).any(axis=0)  # per channel / unit
        self.alive = alive if self.alive is None else self.alive | alive
        flat = values.astype(np.float64).ravel()
        with np.errstate(invalid="ignore"):  # NaN or infinite values make the moments NaN, and say so
            n, mean = flat.size, flat.mean()
            centred = flat - mean
            m2 = float(centred @ centred)
            delta, total = mean - self.mean, self.count + n
            self.m2 += m2 + delta**2 * self.count * n / total
            self.mean += delta * n / total
        self.count = total
        self.min = np.minimum(self.min, flat.min())  # NaN propagates (Python's min would drop it)
        self.max = np.maximum(self.max, flat.max())
        self.zeros += int(np.count_nonzero(flat == 0))
        self.negative += int(np.count_nonzero(flat < 0))
        sat_low, sat_high = self.saturation
        if sat_low is not None:
            self.saturated += int(np.count_nonzero(flat < sat_low))
        if sat_high is not None:
            self.saturated += int(np.count_nonzero(flat > sat_high))
        if self.counts is not None:
            histogram = histogram_counts(flat, self.value_range, self.bins)
            self.counts += histogram["counts"]
            self.below += histogram["below"]
            self.above += histogram["above"]

    def result(self):
        """A JSON-ready dict of the statistics (see the class docstring) and the histogram, if kept."""
        if self.count == 0:
            raise ValueError("no values were seen")
        has_saturation = any(bound is not None for bound in self.saturation)
        return {
            "count": int(self.count),
            "mean": float(self.mean),
            "std": float(np.sqrt(self.m2 / self.count)),
            "min": float(self.min),
            "max": float(self.max),
            "zero_fraction": self.zeros / self.count,
            "negative_fraction": self.negative / self.count,
            "saturated_fraction": self.saturated / self.count if has_saturation else None,
            "dead_fraction": float(1.0 - self.alive.mean()),
            **({} if self.counts is None else {"histogram": {
                "edges": [float(e) for e in np.linspace(*self.value_range, self.bins + 1)],
                "counts": [int(c) for c in self.counts], "below": self.below, "above": self.above}}),
        }


def own_range(values):
    """The range of the finite ``values`` extended to include 0 (a layer's histogram then shows where 0
    falls); NaN and infinite values are left to the histogram's below/above counts and the statistics."""
    values = np.asarray(values)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not (np.isfinite(low) and np.isfinite(high)):  # the rare case: look at the finite values alone
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    low, high = min(low, 0.0), max(high, 0.0)
    return (low, high) if low < high else (low - 0.5, high + 0.5)


def histogram_counts(values, value_range, bins):
    """Counts of ``values`` in ``bins`` equal bins over ``value_range``, and how many fall below and above."""
    flat = np.asarray(values).ravel()
    low, high = value_range
    # Equal bins over a range take numpy's fast path: twice as fast as searching the edges.
    return {"counts": np.histogram(flat, bins=int(bins), range=(low, high))[0],
            "below": int(np.count_nonzero(flat < low)), "above": int(np.count_nonzero(flat > high))}


def layer_statistics(values, value_range, bins, saturation=(None, None), percentiles=False):
    """Statistics of one array of activations [N, ...units] (see ``LayerStatistics``), with a histogram
    over ``value_range``, or over the values' ``own_range`` when it is None.

    With ``percentiles``, also the 1st, 5th, 50th, 95th and 99th percentile as p1 ... p99 (numpy's
    linear interpolation), from one partial sort of a copy for just the order statistics they need.
    """
    stats = LayerStatistics(value_range or own_range(values), bins, saturation)
    stats.update(values)
    result = stats.result()
    if percentiles:
        result.update({f"p{q}": v for q, v in zip(PERCENTILES, percentiles_of(values, PERCENTILES))})
    return result


def percentiles_of(values, quantiles):
    """``np.percentile(values, quantiles)`` (linear interpolation) as floats, partitioning a copy once for the
    order statistics the ``quantiles`` need instead of sorting (or of numpy's extra passes); NaN if any is."""
    flat = np.asarray(values, dtype=np.float32).ravel()
    if flat.size == 0:
        raise ValueError("no values")
    if np.isnan(flat.min()):
        return [float("nan")] * len(quantiles)
    ranks = np.asarray(quantiles, dtype=np.float64) / 100 * (flat.size - 1)
    below = np.floor(ranks).astype(np.int64)
    above = np.minimum(below + 1, flat.size - 1)
    ordered = np.partition(flat, np.unique(np.concatenate([below, above])))
    a, b, t = ordered[below], ordered[above], ranks - below
    difference = (b - a).astype(np.float64)  # numpy's lerp: the difference in the values' float32, then float64,
    a, b = a.astype(np.float64), b.astype(np.float64)  # from the lower value below t = 0.5, the upper one from there
    return np.where(t >= 0.5, b - difference * (1 - t), a + difference * t).tolist()


def pair_signal(values):
    """(q, corr) of a batch of vectors [N, ...]: the mean squared value of a vector's entries, and the mean over every
    two different vectors of their correlation (the cosine: mean-field theory's c, uncentred); corr NaN for one
    vector, and a vector of zeros correlates 0 with every other. Float32 products summed in float64."""
    flat = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    gram = (flat @ flat.T).astype(np.float64) / flat.shape[1]
    lengths = np.diag(gram).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        norms = np.sqrt(np.outer(lengths, lengths))
        cosines = np.where(norms > 0, gram / np.where(norms > 0, norms, 1.0), 0.0)
    count = len(flat)
    corr = (cosines.sum() - np.trace(cosines)) / (count * (count - 1)) if count > 1 else float("nan")
    return float(lengths.mean()), float(corr)
