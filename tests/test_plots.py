"""The pictures: grid layout, and tfplot really drawing (it is unmaintained, so keep it tested)."""

import numpy as np
import pytest

from actviz.plots import draw_grid, draw_histogram, figure_to_png_base64, grid_shape, new_figure


@pytest.mark.parametrize("units, shape", [(6272, (64, 98)), (3136, (56, 56)), (2048, (32, 64)),
                                          (160, (10, 16)), (40, (5, 8)), (10, (2, 5)), (7, (1, 7))])
def test_grid_shape_is_the_squarest_exact_factorisation(units, shape):
    assert grid_shape(units) == shape


def _layer_data(seed, scale=1.0):
    values = scale * np.random.default_rng(seed).normal(size=(8, 7, 7, 64)).astype(np.float32)
    counts, edges = np.histogram(values, bins=60, range=(-4, 8))
    return counts, edges, values[0]


def test_tfplot_draws_both_layer_pictures_as_rgba_images():
    from actviz.plots import TensorBoardPictures

    images = TensorBoardPictures()("conv2", *_layer_data(0))
    assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[0] == 2 and images.shape[-1] == 4
    for image in images:
        rgb = image[..., :3].reshape(-1, 3)
        assert len(np.unique(rgb, axis=0)) > 50  # a real drawing, not a blank canvas


def test_reused_figures_draw_exactly_what_new_ones_would():
    from actviz.plots import TensorBoardPictures

    pictures = TensorBoardPictures()
    first = pictures("conv2", *_layer_data(0))
    second = pictures("conv2", *_layer_data(1, scale=3.0))  # redrawn on the figures of the first call
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, TensorBoardPictures()("conv2", *_layer_data(1, scale=3.0)))
    counts, edges, example = _layer_data(2)
    dead = pictures("conv2", counts, edges, np.zeros_like(example))  # a constant grid draws too
    assert dead.shape == first.shape


def test_report_figure_is_a_png():
    fig = new_figure(4, 3)
    axes = fig.subplots(1, 2)
    draw_histogram(axes[0], [0, 5, 10, 0], [-1, 0, 1, 2, 3])
    draw_grid(axes[1], np.arange(12.0))
    import base64

    assert base64.b64decode(figure_to_png_base64(fig))[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("scale", [1e-4, 1.0, 3e6])
@pytest.mark.parametrize("compared", [1, 8])
def test_figures_drawn_for_every_layer_keep_every_label_inside_their_fixed_margins(monkeypatch, scale, compared):
    from actviz.activations import ACTIVATIONS
    from actviz.report import figures

    drawn = []
    monkeypatch.setattr(figures, "figure_to_png_base64", drawn.append)
    rng, activations, steps = np.random.default_rng(0), list(ACTIVATIONS)[-compared:], [0, 200, 400, 800]
    edges = scale * np.linspace(-2.5, 5.0, 61)
    image = rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)
    figures.layer_figure(edges, {a: rng.integers(0, 1000, 60) for a in activations},
                         {a: scale * rng.normal(size=(4, 4, 128)) for a in activations}, image)  # the longest title
    figures.layer_figure(edges, {a: rng.integers(0, 1000, 60) for a in activations},
                         {a: scale * rng.normal(size=160) for a in activations}, image)  # a dense layer
    figures.percentile_figure({a: (steps, {p: list(scale * (rng.normal(size=4) + shift)) for p, shift in
                                           {"p1": -2, "p5": -1, "p50": 0, "p95": 1, "p99": 2}.items()})
                               for a in activations})
    assert len(drawn) == 3 and all(fig.get_layout_engine() is None for fig in drawn)
    for fig in drawn:  # everything drawn (tick labels, offsets, titles, legends) lies within the figure
        drawn_box, page = fig.get_tightbbox(fig.canvas.get_renderer()), fig.bbox_inches
        assert page.x0 - 0.01 <= drawn_box.x0 and drawn_box.x1 <= page.x1 + 0.01, (scale, drawn_box, page)
        assert page.y0 - 0.01 <= drawn_box.y0 and drawn_box.y1 <= page.y1 + 0.01, (scale, drawn_box, page)


@pytest.mark.parametrize("shape", [(14, 14, 32), (7, 7, 64), (4, 4, 10), (1, 1, 3)])
def test_each_feature_map_fills_its_own_tile(shape):
    from actviz.plots import draw_feature_maps, feature_map_mosaic, tile_origin

    height, width, channels = shape
    values = np.broadcast_to(np.arange(channels, dtype=np.float32), shape)  # channel k holds k everywhere
    mosaic = feature_map_mosaic(values, np.arange(channels))
    for k in range(channels):
        top, left = tile_origin(k, (height, width), channels)
        tile = mosaic[top:top + height, left:left + width]
        assert not np.ma.is_masked(tile) and (tile == k).all(), k
    assert mosaic.count() == values.size  # nothing else is drawn: the gaps and the empty tiles are masked
    fig = new_figure(3, 3)
    image, shown = draw_feature_maps(fig.subplots(), values)
    np.testing.assert_array_equal(image.get_array(), mosaic)  # the picture is that mosaic
    np.testing.assert_array_equal(shown, np.arange(channels))


def test_a_wide_layer_shows_its_most_active_maps_first():
    from actviz.plots import MAX_MAPS, draw_layer_example, feature_map_mosaic, shown_channels, tile_origin

    rng = np.random.default_rng(0)
    activity = rng.permutation(256).astype(np.float32)  # channel k's maps all hold activity[k]
    values = np.broadcast_to(activity, (4, 4, 256)).copy()
    values[0, 0, np.argmax(activity)] = np.nan  # a NaN value does not hide its channel's activity
    values[..., np.argmin(activity)] = np.inf  # nor does an infinite one make it the most active
    shown = shown_channels(values)
    assert len(shown) == MAX_MAPS and list(activity[shown]) == sorted(activity, reverse=True)[:MAX_MAPS]
    mosaic = feature_map_mosaic(values, shown)
    top, left = tile_origin(0, (4, 4), MAX_MAPS)
    assert mosaic[top + 1, left + 1] == 255 and np.ma.is_masked(mosaic[top, left])  # most active first; NaN masked
    _, title = draw_layer_example(new_figure(3, 3).subplots(), values)
    assert title == f"{MAX_MAPS} most active of 256 maps"
    _, title = draw_layer_example(new_figure(3, 3).subplots(), values[..., :20])
    assert title == "all 20 maps"
    _, title = draw_layer_example(new_figure(3, 3).subplots(), np.arange(40.0))
    assert title == "40 units"
