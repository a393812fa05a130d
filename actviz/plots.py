"""The two pictures of a layer, drawn on a given matplotlib Axes.

``draw_histogram`` and ``draw_grid`` are shared by the TensorBoard images (figures made and
rasterised with tfplot during training) and the HTML report (side-by-side comparisons).
Nothing here touches pyplot's global state, so figures can be drawn from any thread.
"""

import base64
import io
import math

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


def draw_grid(ax, values, vmin=None, vmax=None, colorbar=True):
    """Draw one example's activations of a layer as a 2-D grid (see ``grid_shape``)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    image = ax.imshow(values.reshape(grid_shape(values.size)), cmap="viridis",
                      vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return image


class TensorBoardPictures:
    """Draws the histogram and grid of a layer as RGBA uint8 arrays [2, H, W, 4], with tfplot.

    ``pictures(layer, counts, edges, example)``: ``counts`` over ``edges`` are the layer's histogram
    on the probe batch, ``example`` one example's activations, shown as a grid. A layer's figures
    are made once and redrawn with new data at later steps: making the axes and their ticks is
    two thirds of a new figure's cost. Use one instance from one thread at a time.
    """

    def __init__(self):
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
    def _make(layer, kind, counts, edges, example):
        import tfplot

        fig, ax = tfplot.subplots(figsize=(4, 3))
        # Fixed margins keep the labels inside: a layout engine would double the cost of a figure.
        fig.subplots_adjust(left=0.17, right=0.95, bottom=0.16, top=0.9)
        if kind == "histogram":
            ax.set_title(f"{layer}: histogram")
            patch = draw_histogram(ax, counts, edges)

            def redraw(counts, edges, _example):
                patch.set_data(_fractions(counts), edges)
                ax.set_xlim(edges[0], edges[-1])  # the step's own range when histogram_range is auto

            return fig, redraw
        ax.set_title(f"{layer}: activations of one example")
        image = draw_grid(ax, example)

        def update(_counts, _edges, example):
            values = np.asarray(example, dtype=np.float32)
            image.set_data(values.reshape(image.get_array().shape))
            image.set_clim(values.min(), values.max())

        return fig, update


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
