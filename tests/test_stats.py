"""Per-layer statistics accumulated batch by batch."""

import numpy as np
import pytest

from actviz.stats import LayerStatistics, layer_statistics


def test_batched_statistics_equal_those_of_the_whole_array():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(1.5, 3.0, size=(70, 13)), np.zeros((30, 13))]).astype(np.float32)
    values[0, 0] = -50.0  # below the histogram's range
    values[1, 0] = 50.0  # above it
    stats = LayerStatistics((-4, 8), 24)
    for begin in range(0, 100, 17):  # uneven batches
        stats.update(values[begin:begin + 17])
    result = stats.result()
    flat = values.astype(np.float64).ravel()
    assert result["count"] == flat.size
    assert result["mean"] == pytest.approx(flat.mean(), rel=1e-12)
    assert result["std"] == pytest.approx(flat.std(), rel=1e-12)
    assert (result["min"], result["max"]) == (-50.0, 50.0)
    assert result["zero_fraction"] == pytest.approx((flat == 0).mean())
    counts, edges = np.histogram(flat, bins=24, range=(-4, 8))
    assert result["histogram"]["counts"] == counts.tolist()
    assert result["histogram"]["edges"] == pytest.approx(edges.tolist())
    below, above = int((flat < -4).sum()), int((flat > 8).sum())
    assert below >= 1 and above >= 1
    assert (result["histogram"]["below"], result["histogram"]["above"]) == (below, above)
    assert sum(counts) + below + above == flat.size


def test_standardised_values_have_mean_zero_and_std_one():
    values = np.random.default_rng(1).normal(size=100_000)
    values = (values - values.mean()) / values.std()
    result = layer_statistics(values, (-4, 4), 10)
    assert result["mean"] == pytest.approx(0, abs=1e-12) and result["std"] == pytest.approx(1, rel=1e-12)


def test_statistics_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        LayerStatistics((-1, 1), 4).result()
