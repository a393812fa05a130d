"""Per-layer statistics accumulated batch by batch, and of one probe batch."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from actviz.stats import LayerStatistics, layer_statistics, percentiles_of


def test_batched_statistics_equal_those_of_the_whole_array():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(1.5, 3.0, size=(70, 13)), np.zeros((30, 13))]).astype(np.float32)
    values[:, 4] = 0.0  # a dead unit
    stats = LayerStatistics((-4, 8), 24, saturation=(-2.0, 5.0))
    for begin in range(0, 100, 17):  # uneven batches
        stats.update(values[begin:begin + 17])
    result = stats.result()
    flat = values.astype(np.float64).ravel()
    assert result["count"] == flat.size
    assert result["mean"] == pytest.approx(flat.mean(), rel=1e-12)
    assert result["std"] == pytest.approx(flat.std(), rel=1e-12)
    assert (result["min"], result["max"]) == (flat.min(), flat.max())
    assert result["zero_fraction"] == pytest.approx((flat == 0).mean())
    assert result["negative_fraction"] == pytest.approx((flat < 0).mean())
    assert result["saturated_fraction"] == pytest.approx(((flat < -2) | (flat > 5)).mean())
    assert result["dead_fraction"] == pytest.approx(1 / 13)
    counts, edges = np.histogram(flat, bins=24, range=(-4, 8))
    assert result["histogram"]["counts"] == counts.tolist()
    assert result["histogram"]["edges"] == pytest.approx(edges.tolist())
    below, above = int((flat < -4).sum()), int((flat > 8).sum())
    assert below >= 1 and above >= 1
    assert (result["histogram"]["below"], result["histogram"]["above"]) == (below, above)
    assert sum(counts) + below + above == flat.size


def test_standardised_values_have_mean_zero_and_std_one_and_their_percentiles():
    values = np.random.default_rng(1).normal(size=(1000, 100))
    values = (values - values.mean()) / values.std()
    result = layer_statistics(values, (-4, 4), 10, percentiles=True)
    assert result["mean"] == pytest.approx(0, abs=1e-12) and result["std"] == pytest.approx(1, rel=1e-12)
    assert result["p50"] == pytest.approx(0, abs=0.02) and result["p95"] == pytest.approx(1.645, abs=0.03)
    assert result["p1"] < result["p5"] < result["p50"] < result["p95"] < result["p99"]
    assert result["saturated_fraction"] is None and result["dead_fraction"] == 0


def test_statistics_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        LayerStatistics((-1, 1), 4).result()


def test_dead_units_are_channels_zero_for_every_image_at_every_position():
    values = np.zeros((3, 4, 4, 5), np.float32)  # 3 images, 4x4 positions, 5 channels
    values[:, 1:3, 1:3, 0] = 1.0  # channel 0: alive in the middle, zero at the border
    values[2, 0, 0, 1] = -0.5  # channel 1: alive at one position of one image
    values[:, :, :, 2] = 2.0  # channel 2: alive everywhere; channels 3 and 4 are dead
    stats = LayerStatistics()
    for image in values:  # batch by batch
        stats.update(image[None])
    result = stats.result()
    assert result["dead_fraction"] == pytest.approx(2 / 5)  # per channel, not per position
    assert result["zero_fraction"] == pytest.approx(1 - (3 * 4 + 1 + 3 * 16) / values.size)  # per value
    assert "histogram" not in result  # no range given: no histogram


def test_a_histogram_without_a_range_spans_the_values_and_zero():
    values = np.array([[1.0, 2.0, 3.0, 5.0]])
    result = layer_statistics(values, None, 4)
    assert result["histogram"]["edges"] == [0.0, 1.25, 2.5, 3.75, 5.0]
    assert result["histogram"]["counts"] == [1, 1, 1, 1] and result["histogram"]["below"] == 0
    fixed = layer_statistics(values, (2.0, 4.0), 2)
    assert fixed["histogram"]["counts"] == [1, 1] and (fixed["histogram"]["below"], fixed["histogram"]["above"]) == (
        1, 1)


def test_nan_and_infinite_values_show_in_the_statistics_instead_of_vanishing():
    stats = LayerStatistics()
    stats.update(np.ones((2, 3)))
    stats.update(np.array([[np.nan, 1.0, -2.0]]))  # a NaN in a later batch
    result = stats.result()
    assert all(np.isnan(result[key]) for key in ("mean", "std", "min", "max"))
    infinite = layer_statistics(np.array([[1.0, np.inf, -2.0, 0.0]]), None, 4)
    assert (infinite["min"], infinite["max"]) == (-2.0, np.inf)
    # the histogram spans the finite values and 0; the infinite one counts as above it
    assert infinite["histogram"]["edges"][::4] == [-2.0, 1.0] and infinite["histogram"]["above"] == 1
    assert layer_statistics(np.full((1, 3), np.nan), None, 2)["histogram"]["counts"] == [0, 0]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(values=hnp.arrays(np.float32, st.integers(1, 400), elements=st.floats(-1e6, 1e6, width=32)),
       quantiles=st.lists(st.floats(0, 100), min_size=1, max_size=6))
def test_percentiles_are_numpys_to_the_bit(values, quantiles):
    expected = np.percentile(values, quantiles)
    assert np.array_equal(percentiles_of(values, quantiles), expected), (percentiles_of(values, quantiles), expected)
    with_nan = np.append(values, np.float32("nan"))
    assert np.isnan(percentiles_of(with_nan, quantiles)).all()
