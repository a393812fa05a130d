"""Per-layer statistics of activations: accumulated batch by batch, or of one probe batch."""

import numpy as np

PERCENTILES = (1, 5, 50, 95, 99)
# The statistics recorded of every layer over training (training_stats.csv, TensorBoard stats/LAYER/...).
STAT_COLUMNS = ("mean", "std", *(f"p{q}" for q in PERCENTILES), "zero_fraction", "dead_fraction",
                "negative_fraction", "saturated_fraction")


class LayerStatistics:
    """Statistics of every value seen by ``update``; ``values`` batches are [N, ...units].

    Mean and std are merged across batches with Chan's parallel algorithm in float64, so memory
    stays flat. Fractions: of values exactly zero, negative, saturated (below ``saturation[0]`` or
    above ``saturation[1]``; None where the activation has no such bound), and of units that were
    exactly zero for every example (dead units). The histogram uses a fixed range shared by all runs.
    """

    def __init__(self, value_range, bins, saturation=(None, None)):
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.edges = np.linspace(*self.value_range, int(bins) + 1)
        self.saturation = saturation
        self.counts = np.zeros(int(bins), dtype=np.int64)
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = np.inf
        self.max = -np.inf
        self.below = self.above = self.zeros = self.negative = self.saturated = 0
        self.alive = None  # per unit: nonzero for some example

    def update(self, values):
        values = np.asarray(values)
        if values.size == 0:
            return
        alive = (values != 0).any(axis=0)
        self.alive = alive if self.alive is None else self.alive | alive
        flat = values.astype(np.float64).ravel()
        n, mean = flat.size, flat.mean()
        centred = flat - mean
        m2 = float(centred @ centred)
        delta, total = mean - self.mean, self.count + n
        self.m2 += m2 + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.min = min(self.min, flat.min())
        self.max = max(self.max, flat.max())
        low, high = self.value_range
        self.below += int(np.count_nonzero(flat < low))
        self.above += int(np.count_nonzero(flat > high))
        self.zeros += int(np.count_nonzero(flat == 0))
        self.negative += int(np.count_nonzero(flat < 0))
        sat_low, sat_high = self.saturation
        if sat_low is not None:
            self.saturated += int(np.count_nonzero(flat < sat_low))
        if sat_high is not None:
            self.saturated += int(np.count_nonzero(flat > sat_high))
        # Equal bins over a range take numpy's fast path: twice as fast as searching the edges.
        self.counts += np.histogram(flat, bins=len(self.counts), range=self.value_range)[0]

    def result(self):
        """A JSON-ready dict of the statistics (see the class docstring) and the histogram."""
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
            "histogram": {
                "edges": [float(e) for e in self.edges],
                "counts": [int(c) for c in self.counts],
                "below": self.below,
                "above": self.above,
            },
        }


def layer_statistics(values, value_range, bins, saturation=(None, None), percentiles=False):
    """Statistics of one array of activations [N, ...units] (see ``LayerStatistics``).

    With ``percentiles``, also the 1st, 5th, 50th, 95th and 99th percentile as p1 ... p99.
    """
    stats = LayerStatistics(value_range, bins, saturation)
    stats.update(values)
    result = stats.result()
    if percentiles:
        values = np.asarray(values, dtype=np.float32).ravel()
        result.update({f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))})
    return result
