"""The report's figures, drawn from ``actviz.report.numbers``' values; each returns a base64 PNG."""

import numpy as np

from actviz.plots import (
    draw_curves,
    draw_depth_profile,
    draw_grid,
    draw_heatmap,
    draw_overlaid_histograms,
    figure_to_png_base64,
    new_figure,
)

CURVE_LABELS = {"test_accuracy": "test accuracy (whole test split)",
                "train_loss": "training loss (mean over log_every steps)"}


def learning_curves_figure(curves):
    """Test accuracy (left) and training loss (right, log scale) of ``numbers.learning_curves``."""
    fig = new_figure(11, 3.8)
    axes = fig.subplots(1, 2)
    for axis, key in zip(axes, ("test_accuracy", "train_loss")):
        draw_curves(axis, curves[key], CURVE_LABELS[key])
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=8)
    return figure_to_png_base64(fig)


def depth_figure(layers, profiles):
    """Mean (left) and std (right, log scale) against depth of ``numbers.depth_profiles``."""
    fig = new_figure(11, 3.6)
    axes = fig.subplots(1, 2)
    for axis, stat, target in ((axes[0], "mean", 0.0), (axes[1], "std", 1.0)):
        draw_depth_profile(axis, layers, {k: v[stat] for k, v in profiles.items()}, target, stat)
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7, ncol=2)
    return figure_to_png_base64(fig)


def layer_figure(edges, histograms, examples):
    """Overlaid final histograms of every activation (left), one example's grids side by side (right),
    from ``numbers.final_histograms``."""
    activations = list(examples)
    vmin = min(float(e.min()) for e in examples.values())
    vmax = max(float(e.max()) for e in examples.values())
    fig = new_figure(3.6 + 2.6 * len(activations), 3.0)
    axes = fig.subplots(1, len(activations) + 1, width_ratios=[1.5] + [1] * len(activations))
    draw_overlaid_histograms(axes[0], histograms, edges)
    for axis, activation in zip(axes[1:], activations):
        image = draw_grid(axis, examples[activation], vmin, vmax, colorbar=False)
        axis.set_title(activation, fontsize=10)
    fig.colorbar(image, ax=list(axes[1:]), shrink=0.9, label="activation value")
    return figure_to_png_base64(fig)


def heatmap_figure(panels):
    """Histograms over training of every activation (``numbers.histograms_over_training``), one
    shared log colour scale."""
    from matplotlib.colors import LogNorm

    top = max(c.max() for *_, c in panels)
    norm = LogNorm(vmin=1, vmax=max(top, 10))
    fig = new_figure(0.6 + 3.0 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for axis, (activation, steps, edges, counts) in zip(axes, panels):
        image = draw_heatmap(axis, steps, edges, np.where(counts > 0, counts, np.nan), norm)
        axis.set_title(activation, fontsize=10)
    axes[0].set_ylabel("activation value")
    fig.colorbar(image, ax=list(axes), label="count (log)")
    return figure_to_png_base64(fig)
