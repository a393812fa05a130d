"""The two pictures of a layer, drawn on a given matplotlib Axes.

``draw_histogram`` and ``draw_grid`` are shared by the TensorBoard images (figures made and
rasterised with tfplot during training) and the HTML report (side-by-side comparisons).
Nothing here touches pyplot's global state, so figures can be drawn from any thread.
"""

import base64
import io
import math

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator


def grid_shape(units):
    """(rows, cols) with rows * cols == units and rows the largest divisor not above sqrt(units)."""
    rows = max(d for d in range(1, math.isqrt(units) + 1) if units % d == 0)
    return rows, units // rows


HISTOGRAM_FLOOR = 1e-5  # lowest fraction shown on the log axis
LOG_TICKS = [10.0**e for e in range(-5, 1)]
LOG_TICK_LABELS = ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]


def draw_histogram(ax, counts, edges, label=None, color=None, fill=True):
    """Draw a histogram given as ``counts`` over ``edges``, as fractions of all values counted.

    The y-axis is logarithmic so that a spike (ReLU's zeros) does not hide the tails. Unfilled
    outlines (``fill=False``) let several histograms share one axes.
    """
    style = {"fill": True, "alpha": 0.75} if fill else {"fill": False, "linewidth": 1.6}
    patch = ax.stairs(_fractions(counts), edges, baseline=HISTOGRAM_FLOOR, label=label, color=color, **style)
    ax.set_yscale("log")
    ax.set_ylim(HISTOGRAM_FLOOR, 1.0)
    # Fixed decade ticks: matplotlib's automatic log ticks cost 4x the rest of the figure.
    ax.yaxis.set_major_locator(FixedLocator(LOG_TICKS))
    ax.yaxis.set_major_formatter(FixedFormatter(LOG_TICK_LABELS))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("activation value")
    ax.set_ylabel("fraction of values (log)")
    ax.grid(True, alpha=0.3)
    return patch


def _fractions(counts):
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return np.maximum(counts / total if total else counts, HISTOGRAM_FLOOR)


# One colour map for activation values; gaps between feature maps (and NaN values) are white.
VALUE_CMAP = "viridis"
MAX_MAPS = 64  # a conv layer's grid shows at most this many channels: conv3's 128 maps of 4x4 would be specks
# Feature maps are coloured over the central 99% of their values (beyond, colours clip): a few large values
# would leave every map one colour.
MAP_QUANTILES = (0.005, 0.995)


def draw_grid(ax, values, vmin=None, vmax=None, colorbar=True):
    """Draw one example's activations of a dense layer as a 2-D grid of its units (see ``grid_shape``)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    image = ax.imshow(values.reshape(grid_shape(values.size)), cmap=VALUE_CMAP,
                      vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return image


def shown_channels(values, limit=MAX_MAPS):
    """The channels of one example's conv output [H, W, C] that its grid shows: all of them up to ``limit``,
    else the ``limit`` most active (largest mean |value| over the map), most active first."""
    channels = np.asarray(values).shape[-1]
    if channels <= limit:
        return np.arange(channels)
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    finite = np.isfinite(magnitude)
    with np.errstate(invalid="ignore"):  # a channel with no finite value has no activity: it comes last
        activity = np.where(finite, magnitude, 0.0).sum(axis=(0, 1)) / finite.sum(axis=(0, 1))
    return np.argsort(-np.nan_to_num(activity, nan=-1.0), kind="stable")[:limit]


def feature_map_mosaic(values, channels):
    """The maps of ``channels`` of one example's conv output [H, W, C] as one masked array: each channel's
    H x W map a tile of a near-square grid of tiles, row by row, one masked pixel between tiles and masked
    empty tiles. ``tile_origin(i, shape, len(channels))`` says where tile i starts."""
    height, width, _ = np.shape(values)
    columns = math.ceil(math.sqrt(len(channels)))
    rows = math.ceil(len(channels) / columns)
    mosaic = np.zeros(((height + 1) * rows - 1, (width + 1) * columns - 1), dtype=np.float32)
    shown = np.zeros(mosaic.shape, dtype=bool)
    for index, channel in enumerate(channels):
        top, left = tile_origin(index, (height, width), len(channels))
        mosaic[top:top + height, left:left + width] = np.asarray(values)[:, :, channel]
        shown[top:top + height, left:left + width] = True
    return np.ma.masked_array(mosaic, mask=~shown | ~np.isfinite(mosaic))


def tile_origin(index, tile_shape, tiles):
    """(row, column) of the top-left pixel of tile ``index`` in ``feature_map_mosaic`` of ``tiles`` tiles."""
    columns = math.ceil(math.sqrt(tiles))
    row, column = divmod(index, columns)
    return row * (tile_shape[0] + 1), column * (tile_shape[1] + 1)


def maps_title(channels, total):
    """What a grid of feature maps shows, in a few words."""
    return f"all {total} maps" if len(channels) == total else f"{len(channels)} most active of {total} maps"


def draw_feature_maps(ax, values, vmin=None, vmax=None, limit=MAX_MAPS):
    """Draw one example's conv output [H, W, C] as its feature maps, one tile per channel (``shown_channels``,
    ``feature_map_mosaic``); returns (image, channels shown)."""
    channels = shown_channels(values, limit)
    cmap = matplotlib.colormaps[VALUE_CMAP].with_extremes(bad="white")
    image = ax.imshow(feature_map_mosaic(values, channels), cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest", aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)
    return image, channels


def draw_layer_example(ax, values, vmin=None, vmax=None):
    """One example's activations of a layer: feature maps for a conv layer ([H, W, C]), a grid of units
    for a dense one; returns the image, and a short title of what is shown."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        image, channels = draw_feature_maps(ax, values, vmin, vmax)
        return image, maps_title(channels, values.shape[-1])
    return draw_grid(ax, values, vmin, vmax, colorbar=False), f"{values.size} units"


def draw_input(ax, image):
    """A probe image as the network sees it before standardisation: [H, W, 1 or 3] (or [H, W]) pixels."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    else:
        ax.imshow(image[..., :3] if image.dtype == np.uint8 else np.clip(image[..., :3], 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def finite_limits(arrays, quantiles=None):
    """(low, high) of the finite values of ``arrays`` (or their ``quantiles``, e.g. (0.005, 0.995), over all of
    them), a range of 1 around a constant, (0, 1) if none is finite."""
    finite = [a[np.isfinite(a)] for a in (np.asarray(a, dtype=np.float64).ravel() for a in arrays)]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    if quantiles is None:
        low, high = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
    else:
        low, high = (float(q) for q in np.quantile(np.concatenate(finite), quantiles))
    return (low, high) if low < high else (low - 0.5, high + 0.5)


FIGSIZE = (4, 3)  # inches of every TensorBoard picture: its image summary takes a layer's pictures as one batch


class TensorBoardPictures:
    """Draws the histogram and grid of a layer as RGBA uint8 arrays [2, H, W, 4], with tfplot.

    ``pictures(layer, counts, edges, example)``: ``counts`` over ``edges`` are the layer's histogram
    on the probe batch, ``example`` one example's activations: a conv layer's as its feature maps beside
    ``input_image`` (that example's pixels), a dense layer's as a grid of units. A layer's figures
    are made once and redrawn with new data at later steps: making the axes and their ticks is
    two thirds of a new figure's cost. Use one instance from one thread at a time.
    """

    def __init__(self, input_image=None):
        self.input_image = input_image
        self.figures = {}  # layer -> [(figure, update(counts, edges, example))] for both pictures

    def __call__(self, layer, counts, edges, example):
        import tfplot

        if layer not in self.figures:
            self.figures[layer] = [self._make(layer, kind, counts, edges, example) for kind in ("histogram", "grid")]
        pictures = []
        for fig, update in self.figures[layer]:
            update(counts, edges, example)
            pictures.append(tfplot.figure.to_array(fig))
        return np.stack(pictures)

    @staticmethod
    def _one_panel():
        import tfplot

        fig, ax = tfplot.subplots(figsize=FIGSIZE)
        # Fixed margins keep the labels inside: a layout engine would double the cost of a figure.
        fig.subplots_adjust(left=0.17, right=0.95, bottom=0.16, top=0.9)
        return fig, ax

    def _make(self, layer, kind, counts, edges, example):
        import tfplot

        if kind == "histogram":
            fig, ax = self._one_panel()
            ax.set_title(f"{layer}: histogram")
            patch = draw_histogram(ax, counts, edges)

            def redraw(counts, edges, _example):
                patch.set_data(_fractions(counts), edges)
                ax.set_xlim(edges[0], edges[-1])  # the step's own range when histogram_range is auto

            return fig, redraw
        example = np.asarray(example, dtype=np.float32)
        if example.ndim != 3:
            fig, ax = self._one_panel()
            ax.set_title(f"{layer}: activations of one example")
            image = draw_grid(ax, example)

            def update(_counts, _edges, example):
                values = np.asarray(example, dtype=np.float32)
                image.set_data(values.reshape(image.get_array().shape))
                image.set_clim(*finite_limits([values]))

            return fig, update
        # A conv layer: the example's pixels, then its feature maps (the most active ones of a wide layer).
        fig, axes = tfplot.subplots(1, 2, figsize=FIGSIZE, gridspec_kw={"width_ratios": [1, 2.2]})
        fig.subplots_adjust(left=0.02, right=0.88, bottom=0.04, top=0.86, wspace=0.06)
        if self.input_image is not None:
            draw_input(axes[0], self.input_image)
            axes[0].set_title("input", fontsize=10)
        else:
            axes[0].set_axis_off()
        image, _ = draw_feature_maps(axes[1], example)
        fig.colorbar(image, ax=axes[1], fraction=0.05, pad=0.03, extend="both")

        def update_maps(_counts, _edges, example):
            values = np.asarray(example, dtype=np.float32)
            channels = shown_channels(values)
            image.set_data(feature_map_mosaic(values, channels))
            image.set_clim(*finite_limits([values], MAP_QUANTILES))
            axes[1].set_title(f"{layer}: {maps_title(channels, values.shape[-1])}", fontsize=10)

        return fig, update_maps


def new_figure(width, height, layout="constrained"):
    """A matplotlib Figure with its own Agg canvas (no pyplot); the constrained layout fits labels of any length."""
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def fixed_row(width, height, columns, margins, width_ratios=None, **kwargs):
    """``(figure, axes)``: ``columns`` subplots side by side at fixed ``margins`` (left, right, bottom,
    top, and between two subplots; inches), for figures drawn many times whose labels are known. A
    layout engine draws each figure twice: the default report's 31 figures took 7.5 s with it, 3.6 s without."""
    left, right, bottom, top, between = margins
    fig = new_figure(width, height, layout=None)
    mean_width = (width - left - right - between * (columns - 1)) / columns  # wspace is a fraction of it
    axes = fig.subplots(1, columns, width_ratios=width_ratios, squeeze=False, gridspec_kw={
        "left": left / width, "right": 1 - right / width, "bottom": bottom / height, "top": 1 - top / height,
        "wspace": between / mean_width}, **kwargs)[0]
    return fig, axes


def figure_to_png_base64(fig, dpi=80):
    """The figure as a base64-encoded PNG, for embedding in HTML."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def activation_color(activation):
    """One colour per activation, the same in every figure of the report."""
    from matplotlib import colormaps

    from actviz.activations import ACTIVATIONS

    names = list(ACTIVATIONS)
    index = names.index(activation) if activation in names else len(names) + hash(activation) % 10
    return colormaps["tab10"](index % 10)


RECIPE_STYLES = ("-", "--", ":", "-.")


def draw_curves(ax, curves, ylabel):
    """Lines of ``curves``: {(recipe, activation): (steps, values)}; colour = activation, dash = recipe."""
    recipes = list(dict.fromkeys(recipe for recipe, _ in curves))  # first recipe solid
    for (recipe, activation), (steps, values) in curves.items():
        ax.plot(steps, values, RECIPE_STYLES[recipes.index(recipe) % len(RECIPE_STYLES)],
                color=activation_color(activation), label=f"{activation} ({recipe})", marker=".", markersize=4)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


PREDICTION_STYLES = {"predicted": ":", "path": "-."}  # the moment map's one-step and path predictions


def draw_depth_profile(ax, layers, profiles, target, ylabel, predictions=None):
    """Lines of a statistic against depth: ``profiles`` {(activation, when): values per layer}.

    ``when`` is "init" (dashed) or "trained" (solid); ``target`` (or None) is drawn as a thick grey
    line. ``predictions`` {(kind, activation, when): values, None where not predicted}, ``kind`` a key
    of ``PREDICTION_STYLES``, are drawn as thin lines of the activation's colour.
    """
    positions = np.arange(len(layers))
    if target is not None:
        ax.axhline(target, color="0.5", linewidth=3, alpha=0.5, label=f"target {target}")
    for (activation, when), values in profiles.items():
        ax.plot(positions, [np.nan if v is None else v for v in values], "-" if when == "trained" else "--",
                marker="o", markersize=3 if len(layers) > 12 else 4, color=activation_color(activation),
                label=f"{activation}, {when}")
    for (kind, activation, when), values in (predictions or {}).items():
        ax.plot(positions, [np.nan if v is None else v for v in values], PREDICTION_STYLES[kind], linewidth=0.9,
                color=activation_color(activation), alpha=0.9 if when == "trained" else 0.6)
    ax.set_xticks(positions, layers, rotation=90 if len(layers) > 8 else 0, fontsize=7 if len(layers) > 8 else 9)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def draw_overlaid_histograms(ax, histograms, edges):
    """Histograms of several activations on one axes: ``histograms`` {activation: counts}."""
    for activation, counts in histograms.items():
        draw_histogram(ax, counts, edges, label=activation, color=activation_color(activation), fill=False)
    ax.legend(fontsize=8)


def draw_percentile_bands(ax, steps, percentiles, color):
    """A layer's percentiles over training: the 1-99% and 5-95% bands and the median, on ``steps``."""
    ax.fill_between(steps, percentiles["p1"], percentiles["p99"], color=color, alpha=0.2, linewidth=0,
                    label="1–99%")
    ax.fill_between(steps, percentiles["p5"], percentiles["p95"], color=color, alpha=0.45, linewidth=0,
                    label="5–95%")
    ax.plot(steps, percentiles["p50"], color=color, linewidth=1.6, marker=".", markersize=4, label="median")
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xlabel("training step")
    ax.grid(True, alpha=0.3)


def draw_class_accuracy(ax, accuracy, activations, classes):
    """A heat map of per-class accuracy [activations, classes], each cell labelled in %."""
    image = ax.imshow(accuracy, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(len(classes)), classes, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(activations)), activations, fontsize=9)
    for (row, column), value in np.ndenumerate(accuracy):
        if np.isfinite(value):
            ax.text(column, row, f"{100 * value:.0f}", ha="center", va="center", fontsize=7)
    return image
