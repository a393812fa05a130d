"""Per-layer statistics of activations, accumulated batch by batch."""

import numpy as np


class LayerStatistics:
    """Mean, std, min, max and a fixed-range histogram of every value seen by ``update``.

    Batches are merged with Chan's parallel algorithm in float64, so memory stays flat and the
    result does not depend on the batch size beyond rounding.
    """

    def __init__(self, value_range, bins):
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.edges = np.linspace(*self.value_range, int(bins) + 1)
        self.counts = np.zeros(int(bins), dtype=np.int64)
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = np.inf
        self.max = -np.inf
        self.below = 0
        self.above = 0
        self.zeros = 0

    def update(self, values):
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            return
        n = values.size
        mean = values.mean()
        m2 = ((values - mean) ** 2).sum()
        delta = mean - self.mean
        total = self.count + n
        self.m2 += m2 + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.min = min(self.min, values.min())
        self.max = max(self.max, values.max())
        low, high = self.value_range
        self.below += int((values < low).sum())
        self.above += int((values > high).sum())
        self.zeros += int((values == 0).sum())
        self.counts += np.histogram(values, bins=self.edges)[0]

    def result(self):
        """A JSON-ready dict: count, mean, std, min, max, zero_fraction and the histogram."""
        if self.count == 0:
            raise ValueError("no values were seen")
        return {
            "count": int(self.count),
            "mean": float(self.mean),
            "std": float(np.sqrt(self.m2 / self.count)),
            "min": float(self.min),
            "max": float(self.max),
            "zero_fraction": self.zeros / self.count,
            "histogram": {
                "edges": [float(e) for e in self.edges],
                "counts": [int(c) for c in self.counts],
                "below": self.below,
                "above": self.above,
            },
        }


def layer_statistics(values, value_range, bins):
    """Statistics of one array of activations (see ``LayerStatistics.result``)."""
    stats = LayerStatistics(value_range, bins)
    stats.update(values)
    return stats.result()
